namespace Linesight.FirmwareBridge.Protocol;

/// <summary>The type byte of a frame (docs/firmware-protocol.md has the payload of each).</summary>
public enum MessageType : byte
{
    /// <summary>Host → MCU: opens a session and configures heartbeats and fail-safe.</summary>
    Hello = 0x01,

    /// <summary>MCU → host: firmware version, clock rate, uptime; answers Hello and is sent at boot.</summary>
    Capabilities = 0x02,

    /// <summary>Both ways, periodic: "I am alive", with the sender's clock and status flags.</summary>
    Heartbeat = 0x03,

    /// <summary>MCU → host: a part passed the photo-eye.</summary>
    Trigger = 0x10,

    /// <summary>Host → MCU: fire the ejector for a part at a time on the MCU's clock.</summary>
    Reject = 0x11,

    /// <summary>MCU → host: the ejector fired.</summary>
    RejectFired = 0x12,

    /// <summary>Host → MCU: enter the fail-safe now (a decision missed its deadline).</summary>
    FailSafe = 0x13,

    /// <summary>MCU → host: a block of ADC samples.</summary>
    SensorFrame = 0x20,

    /// <summary>MCU → host: digital inputs and outputs changed.</summary>
    IoState = 0x21,

    /// <summary>Both ways: something went wrong that is not a reply to one frame.</summary>
    Error = 0x30,

    /// <summary>Host → MCU: time-sync probe carrying the host's send time.</summary>
    TimeSyncRequest = 0x40,

    /// <summary>MCU → host: the probe's host time echoed with the MCU's clock at reply.</summary>
    TimeSyncReply = 0x41,

    /// <summary>Both ways: the reliable frame with this sequence number arrived and was accepted.</summary>
    Ack = 0x7E,

    /// <summary>Both ways: the reliable frame arrived but was refused, with a reason.</summary>
    Nack = 0x7F,
}

/// <summary>Why a reliable frame was refused (the Nack payload).</summary>
public enum NackReason : byte
{
    UnknownType = 1,
    Malformed = 2,
    UnknownPart = 3,
    TooLate = 4,
    QueueFull = 5,
    NotReady = 6,
}

/// <summary>What the MCU does when it enters its fail-safe.</summary>
public enum FailSafeMode : byte
{
    /// <summary>Hold the reject output active: every part goes to the reject bin.</summary>
    RejectAll = 0,

    /// <summary>Assert the line-stop output.</summary>
    StopLine = 1,
}
