"""The device models on their own: 8259 pair, 16550 UART, 8254 PIT,
debug-exit, driven through their ports as a kernel would."""

from __future__ import annotations

import pytest

from kos.machine.unicorn.devices import COM1, DebugExit, IoBus, PicPair, Pit8254, Uart16550


def remapped() -> tuple[PicPair, IoBus]:
    """The PICs as KOS's pic_init leaves them: vectors 32..47, all masked
    but the cascade."""
    pics = PicPair()
    bus = IoBus()
    bus.attach(pics.ports())
    for port, value in ((0x20, 0x11), (0xA0, 0x11), (0x21, 32), (0xA1, 40), (0x21, 4), (0xA1, 2),
                        (0x21, 1), (0xA1, 1), (0x21, 0xFB), (0xA1, 0xFF)):
        bus.write(port, 1, value)
    return pics, bus


def test_pic_masks_and_delivers_in_priority_order():
    pics, bus = remapped()
    pics.set_irq(4, True)
    assert not pics.has_interrupt()                     # masked
    bus.write(0x21, 1, 0xFB & ~0x11)                    # unmask IRQ 0 and 4
    assert bus.read(0x21, 1) == 0xEA
    pics.pulse(0)
    assert pics.has_interrupt()
    assert pics.acknowledge() == 32                     # IRQ 0 first
    assert not pics.has_interrupt()                     # IRQ 4 waits for the EOI
    bus.write(0x20, 1, 0x0B)                            # OCW3: read ISR
    assert bus.read(0x20, 1) == 0x01
    bus.write(0x20, 1, 0x20)                            # EOI
    assert pics.has_interrupt()
    assert pics.acknowledge() == 36
    bus.write(0x20, 1, 0x0A)                            # OCW3: read IRR
    assert bus.read(0x20, 1) == 0x00


def test_pic_lines_are_edge_triggered():
    pics, bus = remapped()
    bus.write(0x21, 1, 0xEF)
    pics.set_irq(4, True)
    assert pics.acknowledge() == 36
    bus.write(0x20, 1, 0x20)
    pics.set_irq(4, True)                               # still high: no new edge
    assert not pics.has_interrupt()
    pics.set_irq(4, False)
    pics.set_irq(4, True)
    assert pics.has_interrupt()


def test_slave_interrupts_arrive_through_the_cascade():
    pics, bus = remapped()
    bus.write(0xA1, 1, 0xEF)                            # unmask IRQ 12
    pics.pulse(12)
    assert pics.has_interrupt()
    assert pics.acknowledge() == 44
    bus.write(0xA0, 1, 0x0B)
    assert bus.read(0xA0, 1) == 0x10
    bus.write(0xA0, 1, 0x20)
    bus.write(0x20, 1, 0x62)                            # specific EOI for the cascade line
    bus.write(0x20, 1, 0x0B)
    assert bus.read(0x20, 1) == 0


def test_acknowledge_with_nothing_pending_is_a_spurious_irq7():
    pics, _ = remapped()
    assert pics.acknowledge() == 39


def uart() -> tuple[Uart16550, PicPair, list[int]]:
    pics, bus = remapped()
    bus.write(0x21, 1, 0xEF)
    sent: list[int] = []
    return Uart16550(pics, sent.append), pics, sent


def test_uart_loopback_self_test_as_the_driver_does_it():
    u, _, sent = uart()
    u.write(COM1 + 3, 0x80)                             # DLAB
    u.write(COM1 + 0, 1)
    u.write(COM1 + 1, 0)
    u.write(COM1 + 3, 0x03)
    assert u.read(COM1 + 1) == 0                        # IER untouched by the divisor
    u.write(COM1 + 2, 0xC7)
    u.write(COM1 + 4, 0x1E)                             # loopback
    u.feed(b"from the wire")                            # not received while in loopback
    u.write(COM1 + 0, 0xAE)
    assert u.read(COM1 + 5) & 0x01
    assert u.read(COM1 + 0) == 0xAE
    assert not u.read(COM1 + 5) & 0x01
    assert sent == []
    assert u.read(COM1 + 6) & 0xF0 == 0xD0              # CTS, RI, DCD wired from RTS, OUT1, OUT2
    u.write(COM1 + 4, 0x0B)
    assert u.read(COM1 + 5) & 0x01                      # the wire is connected again
    assert u.read(COM1 + 0) == ord("f")


def test_uart_transmits_and_thr_is_always_empty():
    u, _, sent = uart()
    assert u.read(COM1 + 5) & 0x60 == 0x60
    for b in b"ok":
        u.write(COM1, b)
    assert bytes(sent) == b"ok"


def test_uart_receive_fifo_fills_16_bytes_at_a_time_and_raises_irq4():
    u, pics, _ = uart()
    u.write(COM1 + 2, 0xC7)                             # FIFO, trigger 14
    u.write(COM1 + 4, 0x0B)
    u.write(COM1 + 1, 0x01)                             # receive interrupts
    u.feed(bytes(range(40)))
    assert pics.has_interrupt() and pics.acknowledge() == 36
    assert u.read(COM1 + 2) == 0xC4                     # data available (at the trigger level)
    got = []
    while u.read(COM1 + 5) & 0x01:
        got.append(u.read(COM1))
    assert got == list(range(16))
    assert u.read(COM1 + 2) == 0xC1                     # nothing pending
    u.refill()
    assert u.read(COM1 + 2) == 0xC4
    for _ in range(16):
        u.read(COM1)
    u.refill()
    assert u.read(COM1 + 2) == 0xCC                     # 8 bytes: below the trigger, timeout source
    assert len(u.rx) == 8 and not u.pending


def test_uart_thr_empty_interrupt_clears_when_iir_is_read():
    u, _, _ = uart()
    u.write(COM1 + 1, 0x02)
    assert u.read(COM1 + 2) == 0x02
    assert u.read(COM1 + 2) == 0x01


def test_pit_programs_the_rate_and_raises_irq0():
    now = [100.0]
    pics, bus = remapped()
    bus.write(0x21, 1, 0xFA)
    pit = Pit8254(pics, lambda: now[0])
    pit.write(0x43, 0x36)
    pit.write(0x40, 11932 & 0xFF)
    pit.write(0x40, 11932 >> 8)
    assert pit.period == pytest.approx(0.01, rel=1e-3)
    assert not pit.tick_due(now[0])
    now[0] += 0.035                                     # three ticks came due
    fired = 0
    while pit.tick_due(now[0]):
        pit.fire(now[0])
        assert pics.acknowledge() == 32
        pics.master.write(0, 0x20)
        fired += 1
    assert fired == 3
    now[0] += 60                                        # host suspended: skip ahead
    pit.fire(now[0])
    assert pit.next_tick == pytest.approx(now[0] + pit.period)


def test_pit_counter_latch_reads_low_then_high():
    now = [0.0]
    pit = Pit8254(PicPair(), lambda: now[0])
    pit.write(0x43, 0x34)
    pit.write(0x40, 0x00)
    pit.write(0x40, 0x10)                               # reload 0x1000
    now[0] += 0x100 / 1193182
    pit.write(0x43, 0x00)                               # latch
    now[0] += 1.0
    low, high = pit.read(0x40), pit.read(0x40)
    assert (high << 8 | low) == pytest.approx(0x1000 - 0x100, abs=2)


@pytest.mark.parametrize("value,status", [(0x10, 33), (0x11, 35), (0, 1), (0x7F, 255)])
def test_debug_exit_status_is_qemus(value: int, status: int):
    got: list[int] = []
    bus = IoBus()
    bus.attach(DebugExit(got.append).ports())
    bus.write(0xF4, 1, value)
    assert got == [status]


def test_unassigned_ports_read_all_ones():
    bus = IoBus()
    assert bus.read(0x80, 1) == 0xFF and bus.read(0x80, 2) == 0xFFFF
    bus.write(0x80, 1, 0)


def test_uart_keeps_input_that_arrives_before_the_driver_sets_it_up():
    u, _, _ = uart()
    u.feed(b"early")                                    # e.g. piped in before boot
    u.write(COM1 + 2, 0xC7)                             # the driver's FIFO reset
    u.write(COM1 + 4, 0x1E)                             # and loopback self-test
    u.write(COM1, 0xAE)
    assert u.read(COM1 + 5) & 0x01 and u.read(COM1) == 0xAE
    u.write(COM1 + 4, 0x0B)
    assert u.read(COM1 + 5) & 0x01                      # polled: now the wire is connected
    got = bytes(u.read(COM1) for _ in range(5))
    assert got == b"early"
