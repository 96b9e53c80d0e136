"""PROFIBUS DP-V0 slave (layer 7): the state machine and its services, without any I/O.

    Power_On -> Wait_Prm --Set_Prm ok--> Wait_Cfg --Chk_Cfg equal--> Data_Exchange

Services, by destination SAP: Slave_Diag 60, Set_Prm 61, Chk_Cfg 62, Get_Cfg 59,
Global_Control 58 (Clear, Sync/Unsync, Freeze/Unfreeze), Set_Slave_Add 55 (when enabled)
and Data_Exchange on the default SAP. The master that parameterises the slave locks it:
Chk_Cfg, Data_Exchange and Global_Control are taken from that master only, and its response
watchdog (WD_Fact_1 x WD_Fact_2 x 10 ms) sends the slave back to Wait_Prm when it stops
polling. Process data and extended diagnosis come from the layer above (`set_inputs`,
`set_diagnosis`), so a Data_Exchange answer is a copy of bytes ready beforehand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .fdl import ACK, NO_SERVICE, NONE, Reply, Telegram

SAP_SET_SLAVE_ADD, SAP_GLOBAL_CONTROL, SAP_GET_CFG = 55, 58, 59
SAP_SLAVE_DIAG, SAP_SET_PRM, SAP_CHK_CFG = 60, 61, 62
MASTER_SAP = 62  # a DP master's source SAP for these services

# Slave_Diag octet 1 (Station_status_1)
STATION_NOT_READY, CFG_FAULT, EXT_DIAG, NOT_SUPPORTED, PRM_FAULT = 0x02, 0x04, 0x08, 0x10, 0x40
# octet 2 (Station_status_2)
PRM_REQ, STAT_DIAG, ALWAYS_ONE, WD_ON, FREEZE_MODE, SYNC_MODE = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
NO_MASTER = 0xFF
# Set_Prm Station_Status
STA_WD_ON, STA_FREEZE_REQ, STA_SYNC_REQ, STA_UNLOCK_REQ, STA_LOCK_REQ = 0x08, 0x10, 0x20, 0x40, 0x80
# Global_Control Control_Command
GC_CLEAR, GC_UNFREEZE, GC_FREEZE, GC_UNSYNC, GC_SYNC = 0x02, 0x04, 0x08, 0x10, 0x20
DEFAULT_MIN_TSDR = 11  # bit times, until a Set_Prm says otherwise


class State(Enum):
    POWER_ON = "Power_On"
    WAIT_PRM = "Wait_Prm"
    WAIT_CFG = "Wait_Cfg"
    DATA_EXCHANGE = "Data_Exchange"


@dataclass(frozen=True)
class DpSetup:
    ident_number: int
    config: bytes  # the slave's own configuration: what Chk_Cfg must carry, Get_Cfg returns
    output_size: int  # bytes the master sends in Data_Exchange
    user_prm_size: int  # User_Prm_Data bytes a Set_Prm must carry
    require_watchdog: bool = False
    set_slave_address: bool = False


@dataclass
class DpCounters:
    data_exchanges: int = 0
    set_prm: int = 0
    prm_faults: int = 0
    cfg_faults: int = 0
    watchdog_trips: int = 0
    refused: int = 0  # requests not taken: wrong state, another master, malformed


Event = Callable[[str, str], None]


class DpSlave:
    def __init__(
        self,
        setup: DpSetup,
        address: int,
        *,
        on_outputs: Callable[[bytes], None] = lambda data: None,
        on_parameters: Callable[[bytes], str | None] = lambda data: None,
        on_event: Event = lambda kind, message: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.setup = setup
        self.address = address
        self.on_outputs, self.on_parameters, self.on_event = on_outputs, on_parameters, on_event
        self.clock = clock
        self.state = State.POWER_ON
        self.master: int | None = None
        self.counters = DpCounters()
        self.prm_fault = self.cfg_fault = self.not_supported = False
        self.watchdog_s: float | None = None
        self.min_tsdr = DEFAULT_MIN_TSDR
        self.group = 0
        self.freeze_enabled = self.sync_enabled = False
        self.frozen: bytes | None = None  # inputs as of the last Freeze, while frozen
        self.synced: bytes | None = None  # outputs held until the next Sync, while synced
        self.address_locked = False  # Set_Slave_Add said: no further change
        self._last_master_seen = 0.0
        self._inputs = b""
        self._ext_diag = b""
        self._ext_flag = False
        self._static = False
        self._diag_pending = False

    # -- from the layer above -----------------------------------------------------------------

    def set_inputs(self, data: bytes) -> None:
        self._inputs = data

    def set_diagnosis(self, extended: bytes, ext_diag: bool, static: bool) -> None:
        """Slave-specific diagnosis; a change is signalled with a high-priority answer."""
        if (extended, ext_diag, static) != (self._ext_diag, self._ext_flag, self._static):
            self._ext_diag, self._ext_flag, self._static = extended, ext_diag, static
            self._diag_pending = True

    # -- diagnosis ----------------------------------------------------------------------------

    def diagnosis(self) -> bytes:
        status1 = 0
        if self.state is not State.DATA_EXCHANGE:
            status1 |= STATION_NOT_READY
        if self.cfg_fault:
            status1 |= CFG_FAULT
        if self._ext_flag:
            status1 |= EXT_DIAG
        if self.not_supported:
            status1 |= NOT_SUPPORTED
        if self.prm_fault:
            status1 |= PRM_FAULT
        status2 = ALWAYS_ONE
        if self.state in (State.POWER_ON, State.WAIT_PRM):
            status2 |= PRM_REQ
        if self._static:
            status2 |= STAT_DIAG
        if self.watchdog_s is not None:
            status2 |= WD_ON
        if self.frozen is not None:
            status2 |= FREEZE_MODE
        if self.synced is not None:
            status2 |= SYNC_MODE
        master = NO_MASTER if self.master is None else self.master
        ident = self.setup.ident_number
        header = bytes((status1, status2, 0, master, ident >> 8, ident & 0xFF))
        return header + self._ext_diag

    # -- the watchdog -------------------------------------------------------------------------

    def tick(self) -> None:
        """Call often (every few ms): trips the response watchdog."""
        if self.watchdog_s is None or self.state not in (State.WAIT_CFG, State.DATA_EXCHANGE):
            return
        if self.clock() - self._last_master_seen > self.watchdog_s:
            self.counters.watchdog_trips += 1
            master, watchdog_ms = self.master, self.watchdog_s * 1000
            self.to_wait_prm()
            self.on_event(
                "profibus_watchdog",
                f"no telegram from DP master {master} for {watchdog_ms:.0f} ms: "
                "outputs cleared, waiting for a new parameterisation",
            )

    def to_wait_prm(self) -> None:
        """Back to Wait_Prm: unlocked, outputs cleared (the fail-safe state)."""
        was_exchanging = self.state is State.DATA_EXCHANGE
        self.state = State.WAIT_PRM
        self.master = None
        self.watchdog_s = None
        self.frozen = self.synced = None
        self.freeze_enabled = self.sync_enabled = False
        if was_exchanging:
            self.on_outputs(bytes(self.setup.output_size))

    # -- services -----------------------------------------------------------------------------

    def service(self, telegram: Telegram) -> Reply:
        """A request for this station (or a broadcast) -> the reply for the FDL responder."""
        if self.state is State.POWER_ON:
            self.state = State.WAIT_PRM  # initialised: from now on, parameterisable
        if self.master is not None and telegram.sa == self.master:
            self._last_master_seen = self.clock()
        dsap = telegram.dsap
        if dsap is None:
            if telegram.ssap is not None:
                return self._refuse(NO_SERVICE)
            return self._data_exchange(telegram)
        if telegram.ssap != MASTER_SAP:
            return self._refuse(NO_SERVICE)
        if dsap == SAP_SLAVE_DIAG:
            diagnosis = self.diagnosis()
            self._diag_pending = False
            return Reply("data", diagnosis)
        if dsap == SAP_SET_PRM:
            return self._set_prm(telegram)
        if dsap == SAP_CHK_CFG:
            return self._chk_cfg(telegram)
        if dsap == SAP_GET_CFG:
            return Reply("data", self.setup.config)
        if dsap == SAP_GLOBAL_CONTROL:
            return self._global_control(telegram)
        if dsap == SAP_SET_SLAVE_ADD and self.setup.set_slave_address:
            return self._set_slave_add(telegram)
        return self._refuse(NO_SERVICE)

    def _refuse(self, reply: Reply) -> Reply:
        self.counters.refused += 1
        return reply

    def _locked_by_other(self, telegram: Telegram) -> bool:
        return self.master is not None and telegram.sa != self.master

    def _set_prm(self, telegram: Telegram) -> Reply:
        du = telegram.du
        if self._locked_by_other(telegram):
            return self._refuse(ACK)  # the other master sees Master_Add and locks itself out
        self.counters.set_prm += 1
        if len(du) < 7:
            return self._prm_fault(f"Set_Prm with {len(du)} bytes (at least 7)")
        status, fact1, fact2, min_tsdr = du[0], du[1], du[2], du[3]
        ident, group, user = (du[4] << 8) | du[5], du[6], du[7:]
        if not status & STA_LOCK_REQ:
            if status & STA_UNLOCK_REQ:  # released: another master may parameterise
                self.to_wait_prm()
            elif min_tsdr:
                self.min_tsdr = min_tsdr
            return ACK
        if ident != self.setup.ident_number:
            return self._prm_fault(
                f"Set_Prm for ident number 0x{ident:04X}, this slave is "
                f"0x{self.setup.ident_number:04X}"
            )
        if len(user) != self.setup.user_prm_size:
            return self._prm_fault(
                f"Set_Prm with {len(user)} bytes of User_Prm_Data "
                f"(the GSD says {self.setup.user_prm_size})"
            )
        watchdog = bool(status & STA_WD_ON)
        if watchdog and (fact1 == 0 or fact2 == 0):
            return self._prm_fault("Set_Prm with the watchdog on and a factor of 0")
        if not watchdog and self.setup.require_watchdog:
            return self._prm_fault("Set_Prm without the watchdog, which this slave requires")
        problem = self.on_parameters(bytes(user))
        if problem is not None:
            return self._prm_fault(f"User_Prm_Data refused: {problem}")
        self.to_wait_prm()
        self.prm_fault = self.not_supported = False
        self.master = telegram.sa
        self._last_master_seen = self.clock()
        self.watchdog_s = fact1 * fact2 * 0.010 if watchdog else None
        if min_tsdr:
            self.min_tsdr = min_tsdr
        self.group = group
        self.freeze_enabled = bool(status & STA_FREEZE_REQ)
        self.sync_enabled = bool(status & STA_SYNC_REQ)
        self.state = State.WAIT_CFG
        return ACK

    def _prm_fault(self, why: str) -> Reply:
        self.counters.prm_faults += 1
        if not self.prm_fault:
            self.on_event("profibus_prm_fault", why)
        self.to_wait_prm()
        self.prm_fault = True
        return ACK

    def _chk_cfg(self, telegram: Telegram) -> Reply:
        if self.state is not State.WAIT_CFG and self.state is not State.DATA_EXCHANGE:
            return self._refuse(ACK)  # not parameterised: Prm_Req stays set in the diagnosis
        if self._locked_by_other(telegram):
            return self._refuse(ACK)
        if telegram.du != self.setup.config:
            self.counters.cfg_faults += 1
            if not self.cfg_fault:
                self.on_event(
                    "profibus_cfg_fault",
                    f"Chk_Cfg {telegram.du.hex(' ')} from master {telegram.sa} differs from "
                    f"this slave's configuration {self.setup.config.hex(' ')} (import the GSD "
                    "again and pick the modules in this order)",
                )
            self.to_wait_prm()
            self.cfg_fault = True
            return ACK
        self.cfg_fault = False
        if self.state is not State.DATA_EXCHANGE:
            self.state = State.DATA_EXCHANGE
            self._diag_pending = False
            self.on_event("profibus_data_exchange", f"in Data_Exchange with master {self.master}")
        return ACK

    def _data_exchange(self, telegram: Telegram) -> Reply:
        if self.state is not State.DATA_EXCHANGE or self._locked_by_other(telegram):
            return self._refuse(NO_SERVICE)
        outputs = telegram.du
        if outputs:
            if len(outputs) != self.setup.output_size:
                self.counters.cfg_faults += 1
                self.on_event(
                    "profibus_cfg_fault",
                    f"Data_Exchange with {len(outputs)} output bytes, the configuration has "
                    f"{self.setup.output_size}",
                )
                self.to_wait_prm()
                self.cfg_fault = True
                return NO_SERVICE
            if self.synced is not None:
                self.synced = outputs
            else:
                self.on_outputs(outputs)
        self.counters.data_exchanges += 1
        inputs = self.frozen if self.frozen is not None else self._inputs
        return Reply("data", inputs, self._diag_pending)

    def _global_control(self, telegram: Telegram) -> Reply:
        du = telegram.du
        if len(du) != 2 or self._locked_by_other(telegram) or self.master is None:
            return self._refuse(NONE)
        command, select = du[0], du[1]
        if select and not select & self.group:
            return NONE  # another group's command
        if command & (GC_SYNC | GC_UNSYNC) and not self.sync_enabled:
            self.not_supported = True
        if command & (GC_FREEZE | GC_UNFREEZE) and not self.freeze_enabled:
            self.not_supported = True
        if command & GC_CLEAR:
            self.on_outputs(bytes(self.setup.output_size))
        if self.sync_enabled:
            if command & GC_UNSYNC:
                if self.synced is not None and self.synced:
                    self.on_outputs(self.synced)
                self.synced = None
            elif command & GC_SYNC:
                if self.synced:
                    self.on_outputs(self.synced)  # the outputs held since the last Sync
                self.synced = b""
        if self.freeze_enabled:
            if command & GC_UNFREEZE:
                self.frozen = None
            elif command & GC_FREEZE:
                self.frozen = self._inputs
        return NONE

    def _set_slave_add(self, telegram: Telegram) -> Reply:
        du = telegram.du
        if self.state is not State.WAIT_PRM or self.address_locked or len(du) < 4:
            return self._refuse(NO_SERVICE)
        new, ident, no_change = du[0], (du[1] << 8) | du[2], du[3]
        if ident != self.setup.ident_number or new > 125:
            return self._refuse(NO_SERVICE)
        old = self.address
        self.address = new
        self.address_locked = no_change != 0
        self.on_event(
            "profibus_address_changed",
            f"station address {old} -> {new} by master {telegram.sa} (until restart: put "
            "address in the [profibus] config to keep it)",
        )
        return ACK
