"""One input of a shared ADS131M04 as a sensor of its own (a clamp CT, a 4-20 mA loop).

Several channels share one chip: whichever channel is polled first at a given moment reads the
chip, and every channel gets a copy of the frames. A channel hands out whole frames, so its
blocks decode with `dsp_ext.decode_be24(payload, [scale], frame_words=6, first_word=1 + n)`.
"""

from __future__ import annotations

from dataclasses import replace

from ..hal import RawBlock
from ..sensor import SensorDriver
from . import regs
from .driver import Ads131m04


class _Hub:
    """Reads the chip at most once per clock instant and fans the frames out."""

    def __init__(self, adc: Ads131m04) -> None:
        self.adc = adc
        self.views: list[AdcChannel] = []
        self.last_poll: float | None = None

    def poll(self) -> None:
        now = self.adc.clock.now()
        if now == self.last_poll:
            return
        self.last_poll = now
        block = self.adc.read_block()
        if block is not None:
            for view in self.views:
                if view.started:
                    view._queue(block)


def _hub(adc: Ads131m04) -> _Hub:
    hub = getattr(adc, "_channel_hub", None)
    if hub is None:
        hub = _Hub(adc)
        adc._channel_hub = hub  # type: ignore[attr-defined]
    return hub


class AdcChannel(SensorDriver):
    """Channel `channel` (0..3) of `adc`, measuring a `kind` ("current" or "voltage")."""

    chip = "ads131m04"

    def __init__(
        self, adc: Ads131m04, channel: int, kind: str = "current", max_pending_s: float = 2.0
    ) -> None:
        super().__init__()
        if not 0 <= channel < regs.CHANNELS:
            raise ValueError(f"channel: must be 0..{regs.CHANNELS - 1}, got {channel!r}")
        self.adc = adc
        self.channel = channel
        self.kind = kind
        self.channels = (f"ch{channel}",)
        self.odr_hz = adc.odr_hz
        self.poll_interval = adc.poll_interval
        self.full_scale = regs.REFERENCE_V / adc.gains[channel]
        self.device = f"{adc.device} ch{channel}"
        self.frame_words = regs.FRAME_WORDS
        self.first_word = 1 + channel
        self._max_frames = max(4, int(max_pending_s * adc.odr_hz))
        self._hub = _hub(adc)
        self._hub.views.append(self)
        self._pending: list[RawBlock] = []
        self._generation = -1
        self._dropped = False

    def start(self) -> None:
        self._started = False
        self.stats.starts += 1
        if not (self.adc.started and self.adc.healthy):
            self.adc.start()
        self._generation = self.adc.generation
        self._pending.clear()
        self._dropped = False
        self._started = True

    def read_block(self) -> RawBlock | None:
        self._require_started()
        if self.adc.generation != self._generation or not self.adc.started:
            if not self.adc.started:
                self._started = False
                self.adc.start()  # the other channel saw the chip fail; bring it back
                self._started = True
            self._generation = self.adc.generation
            self._pending.clear()
            self._dropped = True  # frames were lost while the chip restarted
        self._hub.poll()
        if not self._pending:
            return None
        block = self._pending.pop(0)
        overflow = block.overflow or self._dropped
        self._dropped = False
        if (self._pending and not self._pending[0].overflow) or block.full_scale != self.full_scale:
            payload, count = [block.payload], block.count
            while self._pending and not self._pending[0].overflow:
                nxt = self._pending.pop(0)
                payload.append(nxt.payload)
                count += nxt.count
            block = RawBlock(
                block.chip,
                block.timestamp,
                block.odr_hz,
                self.full_scale,
                count,
                b"".join(payload),
                overflow,
            )
        elif overflow != block.overflow:
            block = replace(block, overflow=overflow)
        self.stats.count(block)
        return block

    def stop(self) -> None:
        self._started = False
        self._pending.clear()
        if not any(v.started for v in self._hub.views):
            self.adc.stop()

    def _queue(self, block: RawBlock) -> None:
        self._pending.append(block)
        total = sum(b.count for b in self._pending)
        while total > self._max_frames and len(self._pending) > 1:
            total -= self._pending.pop(0).count
            self._dropped = True
