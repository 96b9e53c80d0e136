"""PROFIBUS FDL (layer 2) for a passive station: telegrams, the receiver and the responder.

Telegrams (IEC 61158-4-3 / EN 50170):

    SD1  10 DA SA FC FCS 16                       no data
    SD2  68 LE LEr 68 DA SA FC [DAE SAE] DU FCS 16  variable data, LE = 3 + len(DAE SAE DU)
    SD3  A2 DA SA FC [DAE SAE] DU(8) FCS 16         8 data bytes
    SD4  DC DA SA                                   token (masters only: a slave ignores it)
    SC   E5                                         short acknowledge

FCS is the sum of DA .. DU modulo 256. Bit 7 of DA / SA says an address extension byte (the
SAP, bit 6 = segment) starts the data unit. A frame with a bad FCS, a length that does not
repeat, or a wrong delimiter is dropped without an answer, as the standard requires; so is
a frame for another station. The responder keeps per master the last frame count bit (FCB)
and its answer: a request that repeats the FCB while FCV is set is a repetition (the master
missed the answer), and gets the same answer again without being acted on twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

SD1, SD2, SD3, SD4, SC, ED = 0x10, 0x68, 0xA2, 0xDC, 0xE5, 0x16
BROADCAST = 127
ADDRESS_EXT = 0x80
AE_SEGMENT = 0x40
MAX_DATA = 246  # data unit incl. address extensions: LE <= 249

# Frame control, request (bit 6 set): FCB bit 5, FCV bit 4, function in bits 0-3.
FC_REQUEST, FC_FCB, FC_FCV = 0x40, 0x20, 0x10
FN_SDA_LOW, FN_SDN_LOW, FN_SDA_HIGH, FN_SDN_HIGH = 0x03, 0x04, 0x05, 0x06
FN_FDL_STATUS, FN_SRD_LOW, FN_SRD_HIGH = 0x09, 0x0C, 0x0D
ACKNOWLEDGED = {FN_SDA_LOW, FN_SDA_HIGH}
NOT_ANSWERED = {FN_SDN_LOW, FN_SDN_HIGH}
REPLY_WANTED = {FN_SRD_LOW, FN_SRD_HIGH}
# Frame control, response (bit 6 clear), station type "slave" (bits 4-5 = 0).
FC_OK, FC_UE, FC_RR, FC_RS, FC_DL, FC_DH = 0x00, 0x01, 0x02, 0x03, 0x08, 0x0A

FIXED_SIZE = {SD1: 6, SD3: 14, SD4: 3, SC: 1}


def fcs(data: bytes | bytearray) -> int:
    return sum(data) & 0xFF


@dataclass(frozen=True)
class Telegram:
    """A received telegram; `da`/`sa` without the extension bit, the SAPs taken out of DU."""

    sd: int
    da: int = 0
    sa: int = 0
    fc: int = 0
    dsap: int | None = None
    ssap: int | None = None
    du: bytes = b""

    @property
    def is_request(self) -> bool:
        return bool(self.fc & FC_REQUEST)

    @property
    def function(self) -> int:
        return self.fc & 0x0F


def encode(
    da: int, sa: int, fc: int, du: bytes = b"", dsap: int | None = None, ssap: int | None = None
) -> bytes:
    """A telegram's bytes: SD1 without data, SD3 with exactly 8 bytes, SD2 otherwise."""
    ext = bytearray()
    if dsap is not None:
        ext.append(dsap & 0x3F)
        da |= ADDRESS_EXT
    if ssap is not None:
        ext.append(ssap & 0x3F)
        sa |= ADDRESS_EXT
    body = bytes((da, sa, fc)) + bytes(ext) + du
    units = len(body) - 3
    if units > MAX_DATA:
        raise ValueError(f"{units} data bytes: a telegram carries at most {MAX_DATA}")
    if units == 0:
        return bytes((SD1, *body, fcs(body), ED))
    if units == 8:
        return bytes((SD3, *body, fcs(body), ED))
    return bytes((SD2, len(body), len(body), SD2, *body, fcs(body), ED))


SHORT_ACK = bytes((SC,))


@dataclass
class ReceiverCounters:
    frames: int = 0  # well-formed telegrams
    bad_fcs: int = 0
    bad_length: int = 0  # LE not repeated or out of range, or a broken address extension
    bad_delimiter: int = 0  # unknown start delimiter, SD2 not repeated, or no end delimiter
    incomplete: int = 0  # a frame cut off by line idle


class FdlReceiver:
    """Bytes from the line -> telegrams. A frame's size follows from its start delimiter (and
    LE); the line going idle (`idle_s`) ends any partial frame. After bytes that cannot start
    a frame the receiver waits for idle, as the standard's receiver does, so it resynchronises
    on the master's next request instead of on a byte inside garbage."""

    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self.counters = ReceiverCounters()
        self._buffer = bytearray()
        self._last = -1e9
        self._synced = True

    def feed(self, data: bytes, now: float) -> list[Telegram]:
        if now - self._last >= self.idle_s:
            if self._buffer:
                self.counters.incomplete += 1
                self._buffer.clear()
            self._synced = True
        self._last = now
        if not self._synced:
            return []
        self._buffer += data
        telegrams: list[Telegram] = []
        while self._buffer:
            size = self._frame_size()
            if size is None:  # cannot tell where this frame ends: wait for idle
                self._buffer.clear()
                self._synced = False
                break
            if len(self._buffer) < size:
                break
            frame = bytes(self._buffer[:size])
            del self._buffer[:size]
            telegram = self._parse(frame)
            if telegram is not None:
                self.counters.frames += 1
                telegrams.append(telegram)
        return telegrams

    def _frame_size(self) -> int | None:
        buffer = self._buffer
        sd = buffer[0]
        if sd in FIXED_SIZE:
            return FIXED_SIZE[sd]
        if sd != SD2:
            self.counters.bad_delimiter += 1
            return None
        if len(buffer) < 3:
            return 3  # wait for LE and LEr
        le = buffer[1]
        if buffer[2] != le or not 3 <= le <= 3 + MAX_DATA:
            self.counters.bad_length += 1
            return None
        return le + 6

    def _parse(self, frame: bytes) -> Telegram | None:
        sd = frame[0]
        if sd == SC:
            return Telegram(SC)
        if sd == SD4:
            return Telegram(SD4, frame[1] & 0x7F, frame[2] & 0x7F)
        if frame[-1] != ED or (sd == SD2 and frame[3] != SD2):
            self.counters.bad_delimiter += 1
            return None
        body = frame[4:-2] if sd == SD2 else frame[1:-2]
        if fcs(body) != frame[-2]:
            self.counters.bad_fcs += 1
            return None
        da, sa, fc, du = body[0], body[1], body[2], body[3:]
        dsap = ssap = None
        try:
            if da & ADDRESS_EXT:
                dsap, du = _take_sap(du)
            if sa & ADDRESS_EXT:
                ssap, du = _take_sap(du)
        except ValueError:
            self.counters.bad_length += 1
            return None
        return Telegram(sd, da & 0x7F, sa & 0x7F, fc, dsap, ssap, bytes(du))


def _take_sap(du: bytes) -> tuple[int | None, bytes]:
    """The SAP from an address extension (a segment byte may precede it) and the rest."""
    sap = None
    for i, byte in enumerate(du):
        if not byte & AE_SEGMENT and sap is None:
            sap = byte & 0x3F
        if not byte & 0x80:
            return sap, du[i + 1 :]
    raise ValueError("address extension runs past the data")


# -- the responder ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What the upper layer answers: data (with high priority when the slave has new
    diagnosis), a positive acknowledge, "no service" (RS), or nothing."""

    kind: str  # "data" | "ack" | "no_service" | "none"
    du: bytes = b""
    high_priority: bool = False


ACK = Reply("ack")
NO_SERVICE = Reply("no_service")
NONE = Reply("none")

Service = Callable[[Telegram], Reply]


@dataclass
class ResponderCounters:
    requests: int = 0  # telegrams for this station acted on
    repetitions: int = 0  # answered from the last answer (FCB not toggled)
    other_station: int = 0
    tokens: int = 0
    ignored: int = 0  # responses and acknowledges of other stations, broadcast SRDs


@dataclass
class _Memory:
    fcb: int
    answer: bytes | None


@dataclass
class FdlResponder:
    """The passive station: decides which telegrams are for it and what goes back."""

    address: int
    service: Service  # the DP layer: a request telegram -> Reply
    counters: ResponderCounters = field(default_factory=ResponderCounters)
    _memory: dict[int, _Memory] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget the masters' FCBs (a new parameterisation or address)."""
        self._memory.clear()

    def handle(self, telegram: Telegram) -> bytes | None:
        """The answer's bytes, or None when nothing is to be sent."""
        counters = self.counters
        if telegram.sd == SD4:
            counters.tokens += 1
            return None
        if telegram.sd == SC or not telegram.is_request:
            counters.ignored += 1
            return None
        if telegram.da == BROADCAST:
            if telegram.function in NOT_ANSWERED:  # e.g. Global_Control to every slave
                counters.requests += 1
                self.service(telegram)
            else:
                counters.ignored += 1
            return None
        if telegram.da != self.address:
            counters.other_station += 1
            return None
        function = telegram.function
        if function == FN_FDL_STATUS:  # a passive station, ready
            counters.requests += 1
            return encode(telegram.sa, self.address, FC_OK)
        if function in NOT_ANSWERED:
            counters.requests += 1
            self.service(telegram)
            return None
        if function not in REPLY_WANTED and function not in ACKNOWLEDGED:
            counters.requests += 1
            return encode(telegram.sa, self.address, FC_RS)
        if not telegram.fc & FC_FCV:  # no frame counting: the next counted frame is new
            counters.requests += 1
            self._memory.pop(telegram.sa, None)
            return self._answer(telegram, self.service(telegram))
        fcb = 1 if telegram.fc & FC_FCB else 0
        memory = self._memory.get(telegram.sa)
        if memory is not None and memory.fcb == fcb:
            counters.repetitions += 1
            return memory.answer
        counters.requests += 1
        answer = self._answer(telegram, self.service(telegram))
        self._memory[telegram.sa] = _Memory(fcb, answer)
        return answer

    def _answer(self, telegram: Telegram, reply: Reply) -> bytes | None:
        if reply.kind == "none":
            return None
        if reply.kind == "no_service":
            return encode(telegram.sa, self.address, FC_RS)
        if reply.kind == "ack" or telegram.function in ACKNOWLEDGED:
            return SHORT_ACK
        fc = FC_DH if reply.high_priority else FC_DL
        if not reply.du and telegram.dsap is None:
            return SHORT_ACK
        # The answer's SAPs are the request's, swapped.
        return encode(telegram.sa, self.address, fc, reply.du, telegram.ssap, telegram.dsap)
