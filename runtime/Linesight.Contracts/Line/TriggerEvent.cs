namespace Linesight.Line;

/// <summary>
/// A part reached the capture point: a photo-eye edge on a GPIO line or a trigger frame from the line MCU.
/// </summary>
/// <param name="PartId">Identifier of the part, carried by every frame and result it causes.</param>
/// <param name="Timestamp">When the trigger happened, monotonic (<see cref="TimeProvider.GetTimestamp"/> units, host clock).</param>
/// <param name="Origin">Where it came from, for messages: e.g. <c>gpio:17</c>, <c>mcu</c>.</param>
public readonly record struct TriggerEvent(string PartId, long Timestamp, string Origin);
