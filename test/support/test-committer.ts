import type { BatchCommitter, PipelineBatch } from '../../libs/core/src/store/commit-pipeline';

/** A batch of a test pipeline: it counts writes, nothing is stored. */
export class TestBatch implements PipelineBatch {
  writes = 0;
  bytes = 0;
  constructor(readonly no: number) {}
  get isEmpty(): boolean {
    return this.writes === 0;
  }
}

/** Records what is handed over; the test answers for it through the pipeline. */
export class TestCommitter implements BatchCommitter<TestBatch> {
  readonly handedOver: number[] = [];
  /** The open batch waits before it goes (as SQLite's AckWait holds it). */
  held = false;
  throwOnHandOver = false;
  /** Called during the hand-over of a batch (as the SQLite store defers there). */
  onHandOver: (batch: TestBatch) => void = () => undefined;

  openBatch(no: number): TestBatch {
    return new TestBatch(no);
  }

  holds(): boolean {
    return this.held;
  }

  /** Batches with nothing to write are answered at once (false). */
  handOver(batch: TestBatch): boolean {
    if (this.throwOnHandOver) throw new Error('cannot pack');
    this.onHandOver(batch);
    if (batch.isEmpty) return false;
    this.handedOver.push(batch.no);
    return true;
  }
}
