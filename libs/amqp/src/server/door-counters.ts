/** Cumulative counts of the AMQP door, as RabbitMQ's churn and global message metrics report them. */
export class DoorCounters {
  connectionsOpened = 0;
  connectionsClosed = 0;
  channelsOpened = 0;
  channelsClosed = 0;
  /** Publishes confirmed (basic.ack to a confirming publisher). */
  confirmed = 0;
  /** Unroutable mandatory publishes returned with basic.return. */
  returned = 0;
  /** Publishes received from clients. */
  received = 0;
  /** …of which on channels in confirm mode. */
  receivedConfirm = 0;

  snapshot(): Record<string, number> {
    const { connectionsOpened, connectionsClosed, channelsOpened, channelsClosed, confirmed, returned, received, receivedConfirm } = this;
    return { connectionsOpened, connectionsClosed, channelsOpened, channelsClosed, confirmed, returned, received, receivedConfirm };
  }
}
