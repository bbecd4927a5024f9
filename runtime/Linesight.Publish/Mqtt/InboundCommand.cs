namespace Linesight.Publish.Mqtt;

/// <summary>A message received on the command topic, not yet parsed.</summary>
/// <param name="Payload">The payload, or only its first <see cref="Messages.CommandMessage.MaxBytes"/> + 1 bytes when it is longer.</param>
/// <param name="Length">The payload's real length.</param>
/// <param name="ResponseTopic">The MQTT 5 response topic the sender asked for, if any.</param>
/// <param name="CorrelationData">The MQTT 5 correlation data to send back with the response, if any.</param>
public sealed record InboundCommand(byte[] Payload, long Length, string? ResponseTopic, byte[]? CorrelationData);
