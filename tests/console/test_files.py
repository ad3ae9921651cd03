"""The filesystem over the console, on both machines: write, cat, ls, rm,
mkdir, rmdir and stat on the ramfs, the errors of bad paths, meminfo's
cached_memory counting the page cache, and file mappings made by the
shell's mmap (shared stores seen by cat and gathered by msync, private
copies, the SIGBUS report, maps naming the file, unlink while mapped), and
the cp, cat and cksum programs from ring 3."""

from __future__ import annotations

import re
import subprocess

import pytest

from kos import paths
from kos.console import Console

MAP = 0x50000000


def kv(console: Console, command: str) -> dict[str, int | str]:
    return console.kv(command)


def test_write_cat_ls_rm(console: Console):
    assert console.run("write /data/note hello kos world").strip() == "write: 15 bytes to /data/note"
    assert console.run("cat /data/note").strip() == "hello kos world"
    assert re.search(r"^-rw-r--r--\s+15 note$", console.run("ls /data"), re.M)
    assert console.run("write /data/note again").strip() == "write: 5 bytes to /data/note"
    assert console.run("cat /data/note").strip() == "again"
    assert console.run("write /data/note x").strip() == "write: 1 byte to /data/note"
    assert "cp: 1 byte from /data/note to /data/one" in console.run("run /bin/cp /data/note /data/one")
    assert console.run("rm /data/one").strip() == ""
    assert console.run("rm /data/note").strip() == ""
    assert "cat: error ENOENT (-2): no such file or directory: /data/note" in console.run("cat /data/note")
    assert "note" not in console.run("ls /data")


def test_directories_and_their_errors(console: Console):
    assert console.run("mkdir /box").strip() == ""
    assert "mkdir: error EEXIST (-17): file exists: /box" in console.run("mkdir /box")
    console.run("write /box/in x")
    assert "rmdir: error ENOTEMPTY (-39): directory not empty: /box" in console.run("rmdir /box")
    assert "rm: error EISDIR (-21): is a directory: /box" in console.run("rm /box")
    assert "rmdir: error ENOTDIR (-20): not a directory: /box/in" in console.run("rmdir /box/in")
    assert "write: error ENOENT (-2): no such file or directory: /nope/f" in console.run("write /nope/f x")
    assert "cat: error ENOTDIR (-20): not a directory: /etc/motd/x" in console.run("cat /etc/motd/x")
    assert "write: error EISDIR (-21): is a directory: /box" in console.run("write /box x")
    console.run("rm /box/in")
    assert console.run("rmdir /box").strip() == ""
    assert not re.search(r" box$", console.run("ls"), re.M)


def test_a_directorys_links_are_its_subdirectories_before_it_is_listed(console: Console):
    """An archive directory's entries come in at its first lookup: stat must
    count them in before ls has."""
    links = kv(console, "stat /")["links"]
    subdirs = re.findall(r"^d\S+\s+\d+ (\S+)$", console.run("ls /"), re.M)
    assert subdirs and links == 2 + len(subdirs)


def test_meminfo_counts_page_cache_frames(console: Console):
    before = kv(console, "meminfo")
    console.run("write /big " + "x" * 200)
    after = kv(console, "meminfo")
    assert after["pagecache_frames"] == int(before["pagecache_frames"]) + 1
    assert after["cached_memory"] == int(before["cached_memory"]) + 4096
    st = kv(console, "stat /big")
    assert st["size"] == 200 and st["cached_frames"] == 1 and st["dirty_frames"] == 1
    assert st["mode"] == "-rw-r--r--" and st["links"] == 1
    console.run("rm /big")
    assert kv(console, "meminfo")["pagecache_frames"] == before["pagecache_frames"]


def test_shared_mapping_stores_reach_cat_and_msync_dirties(console: Console):
    console.run("write /m abcdefgh")
    assert console.run(f"mmap {MAP:#x} 8192 rw shared /m").strip() == f"mmap: {MAP:#010x}"
    maps = console.run("maps")
    assert re.search(rf"^{MAP:08x}-{MAP + 8192:08x} rw-s 00000000 00:00 \d+\s+/m$", maps, re.M), maps
    assert "61 62 63 64" in console.run(f"peek {MAP:#x} 4")
    console.run(f"poke {MAP + 2:#x} 0x58")
    assert console.run("cat /m").strip() == "abXdefgh"
    # A frame written by write() is dirty already; page frames are checked after msync.
    assert console.run(f"msync {MAP:#x} 4096").strip() == "msync: ok"
    assert kv(console, "stat /m")["dirty_frames"] == 1
    out = console.run(f"peek {MAP + 4096:#x} 1")
    assert "fault: read from a page beyond the end of its file (SIGBUS) (rw-s)" in out
    assert kv(console, "vmstat")["faults_sigbus"] == 1
    assert "00 00 00 00" in console.run(f"peek {MAP + 8:#x} 4")        # zeros past the end
    console.run("rm /m")
    assert re.search(rf"^{MAP:08x}-.* rw-s .*\(deleted\)$", console.run("maps"), re.M)
    assert "61 62 58 64" in console.run(f"peek {MAP:#x} 4")            # kept until munmap
    assert console.run(f"munmap {MAP:#x} 8192").strip() == "munmap: ok"


def test_private_mapping_and_the_refusals(console: Console):
    console.run("write /p private")
    assert console.run(f"mmap {MAP:#x} 4096 rw private /p").strip() == f"mmap: {MAP:#010x}"
    console.run(f"poke {MAP:#x} 0x50")
    assert "50 72 69 76" in console.run(f"peek {MAP:#x} 4")
    assert console.run("cat /p").strip() == "private"
    assert kv(console, "vmstat")["cow_faults"] >= 1
    offset = console.run(f"mmap {MAP + 0x10000:#x} 4096 r shared /etc/motd 4096")
    assert offset.strip() == f"mmap: {MAP + 0x10000:#010x}"
    maps = console.run("maps")
    assert re.search(rf"^{MAP + 0x10000:08x}-.* r--s 00001000 00:00 \d+\s+/etc/motd$", maps, re.M), maps
    out = console.run(f"mprotect {MAP + 0x10000:#x} 4096 rw")
    assert "mprotect: error EACCES (-13)" in out
    out = console.run(f"mmap {MAP + 0x20000:#x} 4096 r shared /etc")
    assert "mmap: error ENODEV (-19)" in out and "not a regular file" in out
    out = console.run(f"mmap {MAP + 0x20000:#x} 4096 r private|growsdown /p")
    assert "mmap: error EINVAL (-22)" in out
    out = console.run(f"mmap {MAP + 0x20000:#x} 4096 r shared /p 100")
    assert "mmap: error EINVAL (-22)" in out and "page aligned" in out
    out = console.run(f"mmap {MAP + 0x20000:#x} 4096 r shared /none")
    assert "mmap: error ENOENT (-2)" in out


def test_cp_and_cat_programs_copy_and_print_files(console: Console):
    motd = console.run("cat /etc/motd")
    out = console.run("run /bin/cp /etc/motd /copy", timeout=60)
    size = kv(console, "stat /etc/motd")["size"]
    assert f"cp: {size} bytes from /etc/motd to /copy" in out
    assert re.search(r"run: pid \d+ exited with status 0", out)
    assert console.run("cat /copy") == motd
    out = console.run("run /bin/cat /copy /none", timeout=60)
    assert motd.replace("\r", "").strip() in out.replace("\r", "")
    assert "cat: error ENOENT (-2): no such file or directory: /none" in out
    out = console.run("run /bin/cp /etc /copy", timeout=60)
    assert "cp: error EISDIR (-21): is a directory: /etc" in out, out
    assert re.search(r"run: pid \d+ exited with status 1", out)
    assert console.run("cat /copy") == motd                 # not truncated for a copy refused
    console.run("rm /copy")


@pytest.mark.parametrize("pair", ["/etc/motd /etc/motd", "/etc/motd /etc/../etc//motd", "etc/motd /etc/motd"])
def test_cp_onto_its_own_source_is_refused_and_the_file_kept(console: Console, pair: str):
    motd = console.run("cat /etc/motd")
    out = console.run(f"run /bin/cp {pair}", timeout=60)
    src, dst = pair.split()
    assert f"cp: {src} and {dst} are the same file" in out, out
    assert re.search(r"run: pid \d+ exited with status 1", out)
    assert console.run("cat /etc/motd") == motd


def test_files_a_program_wrote_stay_and_free_frames_come_back(console: Console):
    console.run("run /bin/cp /bin/hello /warm", timeout=60)     # /bin/hello and cp in the page cache
    console.run("rm /warm")
    before = int(kv(console, "meminfo")["free_frames"])
    out = console.run("run /bin/cp /bin/hello /h2", timeout=60)
    assert re.search(r"run: pid \d+ exited with status 0", out)
    assert kv(console, "stat /h2")["size"] == kv(console, "stat /bin/hello")["size"]
    console.run("rm /h2")
    assert int(kv(console, "meminfo")["free_frames"]) == before


def test_cksum_prints_what_the_hosts_cksum_prints(console: Console):
    motd = paths.USER / "root" / "etc" / "motd"
    host = subprocess.run(["cksum", str(motd)], capture_output=True, text=True, check=True)
    crc, size = host.stdout.split()[:2]
    out = console.run("run /bin/cksum /etc/motd /none /etc", timeout=60)
    assert f"{crc} {size} /etc/motd" in out, out
    assert "cksum: error ENOENT (-2): no such file or directory: /none" in out
    assert "cksum: error EISDIR (-21): read: is a directory: /etc" in out
    assert re.search(r"run: pid \d+ exited with status 1", out)


def test_what_data_readme_suggests_works(console: Console):
    """/data/README's suggestion maps numbers.txt and shows its first bytes."""
    text = " ".join(console.run("cat /data/README").split())
    m = re.search(r"Try: (mmap [^,]+), then peek 0x[0-9a-f]+ 16\.", text)
    assert m, text
    mapped = re.search(r"^mmap: (0x[0-9a-f]{8})$", console.run(m.group(1)), re.M)
    assert mapped, text
    assert f"{mapped.group(1)}: 31 0a 32 0a 33 0a 34 0a" in console.run(f"peek {mapped.group(1)} 16")
    assert console.run(f"munmap {mapped.group(1)} 4K").strip() == "munmap: ok"
