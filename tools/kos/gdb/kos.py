"""gdb commands for a KOS kernel, in the manner of Linux's scripts/gdb:

    kos-heap        the kmalloc heap's statistics (`memstats`), from the
                    kernel's own memory_get_stats and memory_get_counters
    kos-buddyinfo   free blocks per order and zone (as `buddyinfo`)
    kos-slabinfo    the slab caches (as `slabinfo`)
    kos-ps          the processes (as `ps`)
    kos-maps [PID]  a process's mappings, the shell's by default (as `maps`)

Load with `gdb -x tools/kos/gdb/kos.py build/kernel.elf` (`./kos debug`
prints the whole line). Everything is read through gdb's view of the
kernel's own globals and the types in the ELF's DWARF: no layout, offset or
array length is written here, so the commands follow the C as it changes.
The heap's statistics are the exception that is called rather than read:
they are computed inside the allocator, which keeps its counters private.
"""

from __future__ import annotations

import gdb  # type: ignore[import-not-found]


def _global(expr: str) -> gdb.Value:
    try:
        return gdb.parse_and_eval(expr)
    except gdb.error as e:
        raise gdb.GdbError(f"{expr}: {e} (is build/kernel.elf loaded, with its debug information?)") from e


def _length(array: gdb.Value) -> int:
    """Elements of a C array, from its DWARF type."""
    low, high = array.type.strip_typedefs().range()
    return high - low + 1


def _field_offset(struct: str, member: str) -> int:
    for f in gdb.lookup_type(struct).fields():
        if f.name == member:
            return f.bitpos // 8
    raise gdb.GdbError(f"{struct} has no member {member}")


def list_entries(head: gdb.Value, struct: str, member: str) -> list[gdb.Value]:
    """The structs on an intrusive list (kernel/lib/list.h's list_entry)."""
    offset = _field_offset(struct, member)
    ptr_type = gdb.lookup_type(struct).pointer()
    out: list[gdb.Value] = []
    first = head.address
    node = head["next"]
    while node != first:
        out.append((node.cast(gdb.lookup_type("char").pointer()) - offset).cast(ptr_type).dereference())
        node = node["next"]
        if len(out) > 1 << 22:
            raise gdb.GdbError(f"{struct}.{member}: list does not come back to its head")
    return out


def list_length(head: gdb.Value) -> int:
    n = 0
    node = head["next"]
    while node != head.address:
        n += 1
        node = node["next"]
    return n


def call_out(function: str, struct: str) -> dict[str, int]:
    """Call `void function(struct *out)` in the stopped kernel and return the
    struct it filled, field by field (names and layout from the DWARF).
    The struct goes on the kernel's stack below the live frames, with the
    stack pointer moved under it while gdb runs the call, then put back."""
    layout = gdb.lookup_type(struct)
    sp = int(gdb.parse_and_eval("$sp"))
    buf = (sp - layout.sizeof - 64) & ~15
    gdb.execute(f"set $sp = {buf}")
    try:
        _global(f"{function}(({struct} *){buf})")
        out = gdb.parse_and_eval(f"*({struct} *){buf}")
        return {f.name: int(out[f.name]) for f in layout.strip_typedefs().fields()}
    finally:
        gdb.execute(f"set $sp = {sp}")


def _no_argument(command: str, arg: str) -> None:
    if arg.strip():
        raise gdb.GdbError(f"{command}: takes no argument, not {arg.strip()!r}")


def heap_counters() -> dict[str, int]:
    """memstats' lines: what memory_get_stats and memory_get_counters (the
    public statistics of mm/memory.h) give, called in the kernel."""
    # The other commands read the ELF's initial data without a target; this
    # one calls kernel functions, which needs a kernel stopped under gdb.
    if not gdb.selected_inferior().threads():
        raise gdb.GdbError("kos-heap: calls kernel functions, so it needs a running kernel: "
                           "target remote :1234 (./kos debug) first")
    if int(_global("'memory.c'::heap")) == 0:
        raise gdb.GdbError("kos-heap: there is no heap (memory_init has not run, or no RAM for it)")
    return {**call_out("memory_get_stats", "memory_stats_t"),
            **call_out("memory_get_counters", "struct memory_counters")}


def buddy_free_blocks() -> list[tuple[str, list[int]]]:
    """(zone name, free blocks per order) for every zone with managed frames."""
    zones = _global("buddy_zones")
    out = []
    for z in range(_length(zones)):
        zone = zones[z]
        if int(zone["managed_pages"]) == 0:
            continue
        areas = zone["free_area"]
        counts = [list_length(areas[k]["list"]) for k in range(_length(areas))]
        out.append((zone["name"].string(), counts))
    return out


def slab_caches() -> list[dict[str, int | str]]:
    """One dict per live cache, the columns of slabinfo."""
    table = _global("slab_cache_table")
    rows: list[dict[str, int | str]] = []
    for cid in range(1, _length(table)):
        c = table[cid]
        if int(c) == 0:
            continue
        c = c.dereference()
        active = sum(int(s["inuse"]) for lst in ("partial", "full")
                     for s in list_entries(c[lst], "struct slab", "list"))
        slabs = int(c["nr_slabs"])
        order = int(c["order"])
        rows.append({
            "id": cid, "name": c["name"].string(), "active_objs": active,
            "num_objs": slabs * int(c["objs_per_slab"]), "objsize": int(c["size"]),
            "objperslab": int(c["objs_per_slab"]), "pagesperslab": 1 << order,
            "active_slabs": slabs - list_length(c["empty"]), "num_slabs": slabs,
        })
    return rows


def _constant(name: str) -> int:
    """A kernel constant, restated in kernel/abi.c as ABI_<name>."""
    return int(_global(f"ABI_{name}"))


def processes() -> list[gdb.Value]:
    """The live entries of the process table, in table order (pid order)."""
    table = _global("proc_table")
    unused = int(_global("PROC_UNUSED"))
    return [table[i] for i in range(_length(table)) if int(table[i]["state"]) != unused]


def ps_rows() -> list[str]:
    """ps's lines: the columns cmd_proc.c prints, read from each struct proc
    and its struct mm; the state letter from the kernel's proc_state_name."""
    rlimit_as, infinity = _constant("RLIMIT_AS"), _constant("RLIM_INFINITY")
    rows = []
    for p in processes():
        mm = p["mm"]
        has_mm = int(mm) != 0
        vsz = int(mm["total_pages"]) * 4 if has_mm else 0
        rss = int(mm["resident_pages"]) * 4 if has_mm else 0
        faults = int(mm["minor_faults"]) if has_mm else 0
        pid = int(p["pid"])
        limit = int(p["rlim"][rlimit_as]["rlim_cur"])
        lim = "unlimited" if limit == infinity or pid == 0 else str(limit)
        parent = int(p["parent"]["pid"]) if int(p["parent"]) else 0
        state = _global(f"proc_state_name({int(p['state'])})").string()
        rows.append(f"{pid:5} {parent:5} {state:<5} {p['name'].string():<15} {vsz:8} {rss:8} "
                    f"{lim:>10} {faults:7}")
    return rows


def _inode_path(inode: gdb.Value) -> str:
    """The path naming an inode (fs/path.c's inode_path): the names of it
    and its parents in their directories' entries, up to fs_root."""
    root = int(_global("fs_root"))
    names: list[str] = []
    i = inode
    while int(i.address) != root:
        parent = i["parent"]
        entry = parent["entries"] if int(i["nlink"]) and int(parent) else None
        while entry is not None and int(entry) and int(entry["inode"]) != int(i.address):
            entry = entry["next"]
        if entry is None or not int(entry) or len(names) > 1 << 10:
            return "(deleted)"
        names.append(entry["name"][0].address.string())      # a flexible array member
        i = parent.dereference()
    return "/" + "/".join(reversed(names))


def map_rows(pid: int) -> list[str]:
    """maps' lines for process pid: its VMAs as /proc/PID/maps shows them."""
    proc = next((p for p in processes() if int(p["pid"]) == pid), None)
    if proc is None or int(proc["state"]) == int(_global("PROC_ZOMBIE")):
        raise gdb.GdbError(f"kos-maps: no such process: {pid}")
    mm = proc["mm"]
    if int(mm) == 0:
        raise gdb.GdbError(f"kos-maps: pid {pid} is a kernel thread: it has no user address space")
    bits = [(_constant("PROT_READ"), "r"), (_constant("PROT_WRITE"), "w"), (_constant("PROT_EXEC"), "x")]
    shared, growsdown, shift = _constant("VM_SHARED"), _constant("VM_GROWSDOWN"), _constant("PAGE_SHIFT")
    # A file VMA points at the struct vm_mapping inside its struct inode.
    char_p, inode_p = gdb.lookup_type("char").pointer(), gdb.lookup_type("struct inode").pointer()
    vm_offset = _field_offset("struct inode", "vm")
    rows = []
    for i in range(int(mm["nr_vmas"])):
        v = mm["vmas"][i]
        prot, flags = int(v["prot"]), int(v["flags"])
        perms = "".join(c if prot & bit else "-" for bit, c in bits) + ("s" if flags & shared else "p")
        ino, name = 0, "[stack]" if flags & growsdown else ""
        if int(v["file"]):
            inode = (v["file"].cast(char_p) - vm_offset).cast(inode_p).dereference()
            ino = int(inode["ino"])
            name = _inode_path(inode)
        head = f"{int(v['start']):08x}-{int(v['end']):08x} {perms} {int(v['pgoff']) << shift:08x} 00:00 {ino}"
        rows.append(f"{head:<48} {name}" if name else head)
    return rows


class KosHeap(gdb.Command):
    """Print the kmalloc heap's counters, as `memstats` names them."""

    def __init__(self) -> None:
        super().__init__("kos-heap", gdb.COMMAND_DATA)

    def invoke(self, arg: str, from_tty: bool) -> None:
        _no_argument("kos-heap", arg)
        for name, value in heap_counters().items():
            gdb.write(f"{name}: {value}\n")


class KosBuddyinfo(gdb.Command):
    """Print free blocks per order and zone, as `buddyinfo` (/proc/buddyinfo) does."""

    def __init__(self) -> None:
        super().__init__("kos-buddyinfo", gdb.COMMAND_DATA)

    def invoke(self, arg: str, from_tty: bool) -> None:
        _no_argument("kos-buddyinfo", arg)
        for name, counts in buddy_free_blocks():
            gdb.write(f"Node 0, zone {name:>8}" + "".join(f" {n:6}" for n in counts) + "\n")


class KosSlabinfo(gdb.Command):
    """Print the slab caches, as `slabinfo` (/proc/slabinfo) does."""

    def __init__(self) -> None:
        super().__init__("kos-slabinfo", gdb.COMMAND_DATA)

    def invoke(self, arg: str, from_tty: bool) -> None:
        _no_argument("kos-slabinfo", arg)
        gdb.write("slabinfo - version: 2.1 (kos)\n")
        gdb.write("# id   name                    <active_objs> <num_objs> <objsize> <objperslab> "
                  "<pagesperslab> : slabdata <active_slabs> <num_slabs>\n")
        for r in slab_caches():
            gdb.write(f"{r['id']:<6} {r['name']:<23} {r['active_objs']:13} {r['num_objs']:10} "
                      f"{r['objsize']:9} {r['objperslab']:12} {r['pagesperslab']:14} : slabdata "
                      f"{r['active_slabs']:14} {r['num_slabs']:11}\n")


class KosPs(gdb.Command):
    """Print the processes, as `ps` does."""

    def __init__(self) -> None:
        super().__init__("kos-ps", gdb.COMMAND_DATA)

    def invoke(self, arg: str, from_tty: bool) -> None:
        _no_argument("kos-ps", arg)
        gdb.write("  PID  PPID STATE NAME                 VSZ      RSS      LIMIT  FAULTS\n")
        for row in ps_rows():
            gdb.write(row + "\n")


class KosMaps(gdb.Command):
    """Print a process's mappings (the shell's without PID), as `maps [PID]` does."""

    def __init__(self) -> None:
        super().__init__("kos-maps", gdb.COMMAND_DATA)

    def invoke(self, arg: str, from_tty: bool) -> None:
        try:
            pid = int(arg, 0) if arg.strip() else _constant("PID_SHELL")
        except ValueError:
            raise gdb.GdbError(f"kos-maps: {arg!r} is not a pid") from None
        for row in map_rows(pid):
            gdb.write(row + "\n")


KosHeap()
KosBuddyinfo()
KosSlabinfo()
KosPs()
KosMaps()
