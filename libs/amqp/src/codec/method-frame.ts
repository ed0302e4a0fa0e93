import { AmqpMethod, decodeMethod, MethodId } from './methods.generated';

/**
 * Decodes a method frame's payload into arguments that stay valid after the frame's memory is
 * reused. Long strings and field-table byte arrays decode as views of the payload, so a payload
 * that is a view of the shared socket read buffer (`owned` false) is copied first, except for the
 * hot methods whose arguments are only numbers, flags and short strings.
 */
export function decodeMethodFrame(payload: Buffer, owned: boolean): AmqpMethod {
  if (owned || payload.length < 4) return decodeMethod(payload);
  switch (payload.readUInt32BE(0)) {
    case MethodId.BasicPublish:
    case MethodId.BasicAck:
    case MethodId.BasicNack:
    case MethodId.BasicReject:
    case MethodId.BasicQos:
    case MethodId.BasicGet:
    case MethodId.ChannelFlow:
    case MethodId.ChannelFlowOk:
      return decodeMethod(payload);
    default:
      return decodeMethod(Buffer.from(payload));
  }
}
