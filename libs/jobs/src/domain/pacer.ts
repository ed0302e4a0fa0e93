/** dispenserd's throttle: operations of one kind start at least `gapMs` apart. */
export class Pacer {
  private nextAt = 0;

  constructor(private readonly gapMs: number) {}

  async turn(): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + this.gapMs;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }
}
