"""Page-cache reclaim through direct calls: with every free frame taken,
alloc_page still succeeds, once per page never written that nothing maps
(an archive page, or a hole's zeros), because the page cache's shrinker
gives those frames back; a page written at runtime (the only copy of its
bytes, cleaned or not) and a mapped page stay; and every file reads back
byte for byte afterwards. Only frames of the
zones the failed request may use go: a HighMem frame is of no use to a
GFP_KERNEL request."""

from __future__ import annotations

import tarfile

import pytest
from fs_helpers import PAGE, cached_page, file_inode, read_every_file, user_read, user_write

from kos import paths
from kos.fs import VirtualFileSystem
from kos.kernel import abi, call, u32
from kos.machine.unicorn.kernel import UnicornKernel, boot
from kos.memory import constants as c

pytestmark = pytest.mark.unicorn

RUNTIME = "/data/runtime.bin"
RUNTIME_DATA = bytes(range(256)) * 48          # 3 pages, written at runtime: dirty


def archive_files() -> dict[str, bytes]:
    files = {}
    with tarfile.open(paths.INITRD) as tar:
        for m in tar.getmembers():
            f = tar.extractfile(m) if m.isfile() else None
            if f:
                files["/" + m.name] = f.read()
    return files


def cache_frames(k: UnicornKernel) -> int:
    return k.read_u32(k.symbol("pagecache_frames"))


def drain_free_frames(k: UnicornKernel, gfp_name: str = "GFP_HIGHMEM") -> list[tuple[int, int]]:
    """Take every free block gfp may use straight from buddy (no shrinker
    asked), largest first: the (struct page, order) of each."""
    taken = []
    gfp = abi(k).constant(gfp_name)
    for order in range(abi(k).constant("MAX_ORDER"), -1, -1):
        while p := u32(call(k, "buddy_alloc_pages", order, gfp)):
            taken.append((p, order))
    return taken


def zone_of(k: UnicornKernel, page: int) -> int:
    flags = k.read_u32(page + abi(k).struct("page").offsetof("flags"))
    return flags >> abi(k).constant("PG_ZONE_SHIFT")


def test_pressure_drops_only_clean_unmapped_archive_pages(fsk: UnicornKernel):
    files = archive_files()
    archive_pages = sum((len(d) + PAGE - 1) // PAGE for d in files.values())
    v = VirtualFileSystem(kernel=fsk)
    read_every_file(v)
    fd = v.open(RUNTIME, "w")
    assert v.write(fd, RUNTIME_DATA) == len(RUNTIME_DATA)
    v.close(fd)
    mm = u32(call(fsk, "mm_current"))
    mfd = v.open("/bin/filetest")
    mapped = v.mmap(mm, 0, PAGE, c.PROT_READ, c.MAP_SHARED, mfd)
    assert user_read(fsk, mm, mapped, 16) == files["/bin/filetest"][:16]
    inode = file_inode(fsk, v.fdtable, mfd)
    mapped_page = cached_page(fsk, inode, 0)
    cached = cache_frames(fsk)
    assert cached == archive_pages + len(RUNTIME_DATA) // PAGE

    taken = drain_free_frames(fsk)
    assert call(fsk, "get_free_pages") == 0
    reclaimed = []
    while p := u32(call(fsk, "alloc_page", abi(fsk).constant("GFP_HIGHMEM"))):
        reclaimed.append(p)
        assert cache_frames(fsk) == cached - len(reclaimed)   # each one a cache frame given back
        assert call(fsk, "get_free_pages") == 0
    # Every archive page but the mapped one went; the runtime file's and the mapped page stayed.
    assert len(reclaimed) == archive_pages - 1
    assert cache_frames(fsk) == len(RUNTIME_DATA) // PAGE + 1
    assert cached_page(fsk, inode, 0) == mapped_page

    for p in reclaimed:
        assert call(fsk, "free_page", p) == 0
    for head, order in taken:
        assert call(fsk, "free_pages", head, order) == 0
    for path, data in files.items():
        fd = v.open(path)
        assert v.read(fd, len(data) + 1) == data, path
        v.close(fd)
    fd = v.open(RUNTIME)
    assert v.read(fd, len(RUNTIME_DATA) + 1) == RUNTIME_DATA
    v.close(fd)
    assert cache_frames(fsk) == cached
    assert user_read(fsk, mm, mapped, PAGE) == files["/bin/filetest"][:PAGE]
    assert call(fsk, "vm_munmap", mm, mapped, PAGE) == 0
    v.close_all()


def test_dirty_pages_are_kept_and_then_the_allocation_fails(fsk: UnicornKernel):
    """Pages written at runtime (a new file's, and an archive file's page
    overwritten: the archive no longer holds its bytes) stay under pressure;
    with only those left there is nothing to reclaim: alloc_page fails, and
    the written bytes are intact."""
    numbers = archive_files()["/data/numbers.txt"]
    changed = b"CHANGED" + numbers[7:]
    v = VirtualFileSystem(kernel=fsk)
    read_every_file(v)
    nfd = v.open("/data/numbers.txt", "r+")
    assert v.write(nfd, b"CHANGED") == 7
    numbers_frame = cached_page(fsk, file_inode(fsk, v.fdtable, nfd), 0)
    fd = v.open("/data/kept.bin", "w")
    assert v.write(fd, RUNTIME_DATA) == len(RUNTIME_DATA)
    v.close(fd)
    inode_pages = range(len(RUNTIME_DATA) // PAGE)
    fd = v.open("/data/kept.bin")
    inode = file_inode(fsk, v.fdtable, fd)
    frames = [cached_page(fsk, inode, i) for i in inode_pages]
    assert all(frames)
    taken = drain_free_frames(fsk)
    assert call(fsk, "get_free_pages") == 0
    gfp = abi(fsk).constant("GFP_HIGHMEM")
    reclaimed = []
    while p := u32(call(fsk, "alloc_page", gfp)):
        reclaimed.append(p)
    assert reclaimed                                    # the archive pages went
    left = cache_frames(fsk)
    assert u32(call(fsk, "alloc_page", gfp)) == 0
    assert cache_frames(fsk) == left
    assert [cached_page(fsk, inode, i) for i in inode_pages] == frames
    assert cached_page(fsk, file_inode(fsk, v.fdtable, nfd), 0) == numbers_frame
    for p in reclaimed:
        assert call(fsk, "free_page", p) == 0
    for head, order in taken:
        assert call(fsk, "free_pages", head, order) == 0
    assert v.read(fd, len(RUNTIME_DATA) + 1) == RUNTIME_DATA
    v.seek(nfd, 0)
    assert v.read(nfd, len(changed) + 1) == changed
    v.close_all()


def test_a_failed_low_memory_request_drops_no_highmem_frame():
    """On 1 GiB the cache's frames are HighMem (GFP_HIGHMEM prefers it).
    With Normal and DMA empty, a GFP_KERNEL request fails and the cache
    keeps every frame; a GFP_HIGHMEM request is served as before."""
    k = boot(paths.KERNEL_ELF, "1G", modules=[paths.INITRD.read_bytes()])
    try:
        v = VirtualFileSystem(kernel=k)
        read_every_file(v)
        fd = v.open("/bin/filetest")
        inode = file_inode(k, v.fdtable, fd)
        assert zone_of(k, cached_page(k, inode, 0)) == abi(k).constant("ZONE_HIGHMEM")
        cached = cache_frames(k)
        taken = drain_free_frames(k, "GFP_KERNEL")
        assert u32(call(k, "alloc_page", abi(k).constant("GFP_KERNEL"))) == 0
        assert cache_frames(k) == cached
        # A request no zone can serve is refused and drops nothing either.
        invalid = abi(k).constant("GFP_DMA") | abi(k).constant("GFP_HIGHMEM")
        assert u32(call(k, "alloc_page", invalid)) == 0
        assert cache_frames(k) == cached
        high = u32(call(k, "alloc_page", abi(k).constant("GFP_HIGHMEM")))
        assert high and zone_of(k, high) == abi(k).constant("ZONE_HIGHMEM")
        assert cache_frames(k) == cached
        assert call(k, "free_page", high) == 0
        for head, order in taken:
            assert call(k, "free_pages", head, order) == 0
        v.close_all()
    finally:
        k.close()


def reclaim_everything(k: UnicornKernel) -> tuple[list[tuple[int, int]], list[int]]:
    """Every free HighMem-usable block taken, then alloc_page until it fails:
    (the blocks taken, the frames the shrinker gave back)."""
    taken = drain_free_frames(k)
    gfp = abi(k).constant("GFP_HIGHMEM")
    reclaimed = []
    while p := u32(call(k, "alloc_page", gfp)):
        reclaimed.append(p)
    return taken, reclaimed


def give_back(k: UnicornKernel, taken: list[tuple[int, int]], reclaimed: list[int]) -> None:
    for p in reclaimed:
        assert call(k, "free_page", p) == 0
    for head, order in taken:
        assert call(k, "free_pages", head, order) == 0


def test_a_written_page_stays_after_it_is_cleaned(fsk: UnicornKernel):
    """Cleaning a frame the cache holds (the shell's `page clean`, the
    Python API's write-back to a host file) does not make its bytes the
    archive's again: the frame is kept under pressure and reads back as
    written, not as the archive had it."""
    motd = archive_files()["/etc/motd"]
    v = VirtualFileSystem(kernel=fsk)
    fd = v.open("/etc/motd", "r+")
    assert v.write(fd, b"REWRITTEN") == 9
    frame = cached_page(fsk, file_inode(fsk, v.fdtable, fd), 0)
    assert call(fsk, "page_clear_dirty", frame) == 0
    flags = u32(call(fsk, "page_flags", frame))
    assert not flags & abi(fsk).constant("PG_DIRTY") and flags & abi(fsk).constant("PG_WRITTEN")

    taken, reclaimed = reclaim_everything(fsk)
    assert frame not in reclaimed
    assert cached_page(fsk, file_inode(fsk, v.fdtable, fd), 0) == frame
    give_back(fsk, taken, reclaimed)
    v.seek(fd, 0)
    assert v.read(fd, len(motd) + 1) == b"REWRITTEN" + motd[9:]
    v.close_all()


def test_clean_pages_past_the_archive_go_and_come_back_as_zeros(fsk: UnicornKernel):
    """A file grown by ftruncate has holes; a mapping that reads them gets
    zero frames from the cache. Once unmapped, those frames are clean and
    remade as zeros, so pressure takes them; a hole page stored to through
    a shared mapping is written and stays."""
    v = VirtualFileSystem(kernel=fsk)
    mm = u32(call(fsk, "mm_current"))
    fd = v.open("/data/holes.bin", "w+")
    v.truncate(fd, 3 * PAGE)
    inode = file_inode(fsk, v.fdtable, fd)
    a = v.mmap(mm, 0, 3 * PAGE, c.PROT_READ | c.PROT_WRITE, c.MAP_SHARED, fd)
    assert user_read(fsk, mm, a, 3 * PAGE) == bytes(3 * PAGE)
    assert user_write(fsk, mm, a + 2 * PAGE + 5, b"kept") == 0
    holes = [cached_page(fsk, inode, i) for i in range(3)]
    assert all(holes)
    assert call(fsk, "vm_munmap", mm, a, 3 * PAGE) == 0

    taken, reclaimed = reclaim_everything(fsk)
    assert holes[0] in reclaimed and holes[1] in reclaimed and holes[2] not in reclaimed
    assert [cached_page(fsk, inode, i) for i in range(3)] == [0, 0, holes[2]]
    give_back(fsk, taken, reclaimed)
    v.seek(fd, 0)
    assert v.read(fd, 3 * PAGE + 1) == bytes(2 * PAGE + 5) + b"kept" + bytes(PAGE - 9)
    v.close_all()


def test_a_failed_allocation_passes_over_each_written_frame_once(fsk: UnicornKernel):
    """With nothing left to reclaim, a failed alloc_page costs fewer
    instructions than mem_map has frames (the shrinker walks the cache's
    list of never-written frames, not mem_map); frames written since then
    are passed over by the next failure once, and the one after costs what
    it did before they were written."""
    v = VirtualFileSystem(kernel=fsk)
    read_every_file(v)
    gfp = abi(fsk).constant("GFP_HIGHMEM")
    taken, reclaimed = reclaim_everything(fsk)
    assert reclaimed
    failed, settled = fsk.call_counted("alloc_page", gfp)
    assert u32(failed) == 0
    assert settled < fsk.read_u32(fsk.symbol("mem_map_pages"))

    pages = 16
    spare = pages + 24                  # the new inode's slab and page array may take some too
    assert len(reclaimed) > spare
    for p in reclaimed[:spare]:
        assert call(fsk, "free_page", p) == 0
    fd = v.open("/data/written.bin", "w")
    assert v.write(fd, bytes(range(256)) * 16 * pages) == pages * PAGE
    v.close(fd)
    taken += drain_free_frames(fsk)     # what the write left free
    failed, first = fsk.call_counted("alloc_page", gfp)
    assert u32(failed) == 0 and first > settled
    failed, again = fsk.call_counted("alloc_page", gfp)
    assert u32(failed) == 0 and again <= settled + 16

    give_back(fsk, taken, reclaimed[spare:])
    v.unlink("/data/written.bin")
    v.close_all()
