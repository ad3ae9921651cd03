"""The shell: commands, line editing, and surviving any input."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from kos.console import Console

SPEC_COMMANDS = ("help", "memstats", "memtest", "clear")


def test_help_lists_every_command(console: Console):
    out = console.run("help")
    for name in (*SPEC_COMMANDS, "halt", "kmalloc", "kfree", "stack", "crash"):
        assert f"\n  {name} " in "\n" + out, name


def test_help_lists_every_command_the_image_registers(console: Console, kernel: Path):
    """The specification's "show available commands": each SHELL_COMMAND's
    record (shell_cmd_NAME, in .rodata) has its line in help, and help
    lists nothing else."""
    with kernel.open("rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        registered = {sym.name.removeprefix("shell_cmd_") for sym in symtab.iter_symbols()
                      if sym.name.startswith("shell_cmd_") and sym["st_info"]["type"] == "STT_OBJECT"}
    assert set(SPEC_COMMANDS) <= registered
    assert set(re.findall(r"^  ([a-z]+) ", console.run("help"), re.M)) == registered


def test_unknown_command_gets_a_hint(console: Console):
    out = console.run("frobnicate now")
    assert out.strip() == "frobnicate: unknown command; type 'help' for the list"


def test_empty_and_blank_lines_just_prompt_again(console: Console):
    assert console.run("") == ""
    assert console.run("    ") == ""


def test_clear_sends_ansi_clear_and_home(console: Console):
    assert console.run("clear") == "\x1b[2J\x1b[H"


def test_backspace_and_del_edit_the_line(console: Console):
    console.send("memstaXX\x08\x7fts\r")
    out = console.wait_prompt()
    assert "total_heap: 31457280" in out
    assert "unknown command" not in out


def test_ctrl_u_kills_the_line(console: Console):
    console.send("garbage words\x15help\r")
    out = console.wait_prompt()
    assert "commands:" in out
    assert "unknown command" not in out


def test_ctrl_c_drops_the_line(console: Console):
    console.send("halt\x03")
    console.expect_text("^C")
    console.wait_prompt()
    assert "unknown command" not in console.run("help")


def test_arrow_key_escape_sequences_are_ignored(console: Console):
    console.send("he\x1b[A\x1b[Dlp\r")
    assert "commands:" in console.wait_prompt()


def test_crlf_ends_one_line_not_two(console: Console):
    console.send("uptime\r\n")
    console.wait_prompt()
    console.send("help\r")
    out = console.wait_prompt()
    assert out.startswith("help\n")


def test_tab_completes_a_unique_command_name(console: Console):
    assert "Tab complete" in console.run("help").splitlines()[-1]
    console.send("memst\t\r")
    out = console.wait_prompt()
    assert out.startswith("memstats \n") and "total_heap: 31457280" in out, out


def test_tab_extends_to_the_shared_prefix_then_lists_the_commands(console: Console):
    console.send("bud\t")
    console.expect_text("buddy")                  # buddy, buddyinfo, buddycheck all begin so
    console.send("\t")
    listed = console.wait_prompt()                # the line is typed again after a prompt
    assert listed.splitlines()[-1] == "buddy  buddycheck  buddyinfo", listed
    console.expect_text("buddy")
    console.send("i\t\r")
    out = console.wait_prompt()
    assert out.startswith("info \n") and "Node 0, zone" in out, out      # "buddy" was echoed before


def test_tab_completes_paths_after_a_command_that_takes_one(console: Console):
    console.send("cat /et\tmo\t\r")
    out = console.wait_prompt()
    assert out.startswith("cat /etc/motd \n") and "error" not in out, out
    console.send("run /bin/hel\t\r")
    out = console.wait_prompt()
    assert out.startswith("run /bin/hello \n") and re.search(r"run: pid \d+ exited with status 0", out), out
    console.send("run hel\t\r")                   # a program's name, from /bin where run finds it
    out = console.wait_prompt()
    assert out.startswith("run hello \n") and "argv[0] = hello" in out, out
    console.send("cat data/\t")                   # relative to "/", as cat takes it
    assert console.wait_prompt().splitlines()[-1] == "README  numbers.txt"
    console.expect_text("cat data/")
    console.send("n\t\r")
    assert console.wait_prompt().split() == ["numbers.txt", *[str(i) for i in range(1, 101)]]
    console.send("ls /\t")
    root = console.wait_prompt().splitlines()[-1].split("  ")
    assert {"bin/", "data/", "etc/"} <= set(root), root
    console.send("\x15\r")
    console.wait_prompt()


def test_tab_leaves_words_that_take_no_path_and_names_that_match_nothing(console: Console):
    console.send("kill /b\t\r")                  # kill takes a PID, not a path
    assert console.wait_prompt().startswith("kill /b\n")
    console.send("xyz\tcat /nothere\t\r")
    out = console.wait_prompt()
    assert out.startswith("xyzcat /nothere\n"), out


def test_4096_byte_line_is_refused_and_the_shell_lives(console: Console):
    console.send("x" * 4096 + "\r")
    out = console.wait_prompt(timeout=20)
    assert "shell: line too long (more than 255 characters), ignored" in out
    assert "x" * 256 not in out                  # the echo stopped at the buffer's end
    assert "total_heap" in console.run("memstats")


def test_longest_line_that_fits_is_accepted(console: Console):
    out = console.run("help" + " " * 251)        # 255 characters: the limit
    assert "commands:" in out


def test_too_many_arguments_are_refused(console: Console):
    out = console.run("help " + " ".join("a" * 16))
    assert "shell: too many arguments" in out


def test_control_and_8bit_bytes_are_ignored(console: Console):
    console.send(bytes([0x01, 0x02, 0x80, 0xFF, 0x9B, 0x07]) + b"help\r")
    assert "commands:" in console.wait_prompt()


@pytest.mark.slow
def test_a_flood_of_random_bytes_then_a_command_works(console: Console):
    # 16 KiB: about 60 lines of every byte value (each some 64 times),
    # control characters and escape sequences among them. (Under QEMU's
    # -kernel the UART's FIFO is off and every byte is an interrupt.)
    console.send_flowing(random.Random(1234).randbytes(16 << 10))
    # Drop whatever line is pending, then a marker line proves the kernel
    # has caught up with everything sent before it.
    console.send(b"\x03sync-marker\r")
    # Waits with room for a loaded machine: the embedded emulator takes
    # about 1 s of CPU time for the flood.
    console.expect_text("sync-marker: unknown command", timeout=180)
    console.wait_prompt(timeout=60)
    stats = console.kv("memstats", timeout=30)
    assert stats["total_heap"] == 31457280
    assert "commands:" in console.run("help", timeout=30)


@pytest.mark.slow
def test_a_flood_without_newline_is_one_refused_line(console: Console):
    # 16 KiB, 64 times the line buffer: the echo stops when it is full and
    # the rest is counted, not kept.
    console.send_flowing(b"y" * (16 << 10))
    console.send(b"\r")
    out = console.expect_text("ignored", timeout=180)
    assert "shell: line too long" in out
    assert out.count("y") <= 255 + 10              # the echo stopped when the buffer filled
    console.wait_prompt()
    assert "total_heap: 31457280" in console.run("memstats")
