import type { Message } from '#core';

export type TxAction =
  | { kind: 'publish'; exchange: string; message: Message; mandatory: boolean }
  | { kind: 'ack'; tag: number; multiple: boolean }
  | { kind: 'nack'; tag: number; multiple: boolean; requeue: boolean };

/** Publishes and settlements held back until tx.commit (discarded by tx.rollback). */
export class Transaction {
  actions: TxAction[] = [];

  add(action: TxAction): void {
    this.actions.push(action);
  }

  takeAll(): TxAction[] {
    const actions = this.actions;
    this.actions = [];
    return actions;
  }
}
