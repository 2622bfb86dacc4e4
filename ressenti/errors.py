"""The project's exceptions: one base, each subclass also a matching builtin."""


class RessentiError(Exception):
    """Base class of every error raised on purpose by ressenti."""


class ContractError(RessentiError, ValueError):
    """A message does not follow the wire contract (docs/protocol.md)."""


class BadTopic(ContractError):
    """An MQTT topic is not one of the contract's topics."""


class BadBatch(ContractError):
    """A batch cannot be used at all (not JSON, wrong shape, too large)."""


class BatchTooLarge(BadBatch):
    """A batch is over the contract's size or event count limit."""


class NotJSON(BadBatch):
    """A message is not JSON in UTF-8 (or is nested too deeply to read)."""


class BadEvent(ContractError):
    """One event of a batch breaks the contract; the rest of the batch is still used."""

    def __init__(self, reason: str, seq: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.seq = seq


class BadAck(ContractError):
    """An ack message from the collector cannot be used."""


class BadConfig(RessentiError, ValueError):
    """A configuration file or a pushed config message is invalid; the message says what to fix."""


class BadFollowup(BadConfig):
    """The follow-up question of a config is not usable; the message says what to fix."""


class NoGpio(BadConfig):
    """No GPIO pin driver works on this machine; the message says to install lgpio or set mock_pins."""
