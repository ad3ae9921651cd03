"""The C/Python interface of a compiled image, read from its ELF file: struct
and union layouts and enums from the DWARF debug information, addresses from
the symbol table.

Python never spells a C layout or a C constant by hand; it asks the image, so
a field that moves in C moves in Python with the next build.

    abi = load(paths.KERNEL_ELF)
    stats = abi.struct("memory_stats_t")        # a typedef, or a struct/union tag
    stats.size, stats.fields["used_heap"].offset
    stats.unpack(k.read(addr, stats.size))      # {"total_heap": 31457280, ...}
    abi.enum("heap_error")                      # {"HEAP_OK": 0, ...}
    abi.constant("HEAP_START")                  # any enumerator, by name
    abi.symbol("kmalloc")                       # its address

A #define leaves no trace in DWARF: kernel/abi.c restates each one Python
needs as an enumerator ABI_<NAME>, and constant("<NAME>") finds it there.

Any little-endian ELF with DWARF 2 to 5 will do: the 32-bit kernel, or a
64-bit shared object built for the host with -g (whose symbol addresses are
relative to where it is loaded). load() keeps one Abi per (path, mtime) in
the process, and the parse on disk under build/pycache/abi/, named after the
image's bytes and this module's: test workers and every tool a test starts
read an image's DWARF once between them, not once each (about a second).
"""

from __future__ import annotations

import difflib
import io
import os
import struct as _struct
import threading
from dataclasses import dataclass, field
from pathlib import Path

from elftools.dwarf.die import DIE
from elftools.elf.elffile import ELFFile

from kos import diskcache

__all__ = ["Abi", "AbiError", "Field", "Layout", "Value", "load"]

# What unpack gives for one field: an integer (pointers and enums too), a
# float, bytes for a char array, a list for any other array, a dict for a
# struct or union.
Value = int | float | bytes | list["Value"] | dict[str, "Value"]

CONSTANT_PREFIX = "ABI_"

_QUALIFIERS = ("DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_restrict_type", "DW_TAG_atomic_type")
_AGGREGATES = ("DW_TAG_structure_type", "DW_TAG_union_type")
_DW_ATE_FLOAT = 0x04
_DW_ATE_SIGNED = 0x05
_DW_ATE_SIGNED_CHAR = 0x06
_DW_OP_PLUS_UCONST = 0x23


class AbiError(KeyError):
    """A name the image does not define, or defines twice in different ways.
    A KeyError whose message reads as a sentence (KeyError would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True, eq=False)
class Field:
    """One member of a struct or union.

    offset is in bytes from the start of the enclosing layout; size is the
    whole member's (every element of an array); count is the number of
    elements (1 for a scalar, the product of shape for an array); type_name
    is one element's C type as declared ("uint32_t", "struct list_head",
    "const char *"). A bitfield has bit_size set and occupies bits
    bit_offset .. bit_offset + bit_size - 1 of the size little-endian bytes at
    offset. A struct or union member carries its layout.
    """

    name: str
    offset: int
    size: int
    count: int
    type_name: str
    kind: str = "int"              # "int", "char", "float", "pointer" or "struct" (struct or union)
    signed: bool = False
    shape: tuple[int, ...] = ()    # array dimensions, outermost first; () for a scalar
    bit_offset: int | None = None
    bit_size: int | None = None
    layout: Layout | None = None

    @property
    def element_size(self) -> int:
        return self.size // self.count if self.count else 0


@dataclass(frozen=True, eq=False)
class Layout:
    """A struct or union: its size in bytes and its members by name. The
    members of an anonymous struct or union member appear among the
    enclosing layout's fields, at their offsets in it, as C lets code name them."""

    name: str
    size: int
    fields: dict[str, Field]
    union: bool = False

    def unpack(self, data: bytes, offset: int = 0) -> dict[str, Value]:
        """The members' values from the layout's bytes at data[offset:]."""
        if len(data) - offset < self.size:
            raise ValueError(f"{self.name}: unpacking needs {self.size} bytes, got {len(data) - offset}")
        return {name: self._value(f, data, offset + f.offset) for name, f in self.fields.items()}

    def flat(self) -> dict[str, Field]:
        """Every scalar or array member, nested struct members as "outer.inner",
        with offsets from the start of this layout."""
        out: dict[str, Field] = {}
        for name, f in self.fields.items():
            if f.layout is not None and not f.shape:
                for sub, g in f.layout.flat().items():
                    out[f"{name}.{sub}"] = _moved(g, f.offset)
            else:
                out[name] = f
        return out

    def offsetof(self, path: str) -> int:
        """The byte offset of a member, nested ones as "outer.inner"."""
        layout: Layout | None = self
        offset = 0
        for part in path.split("."):
            if layout is None or part not in layout.fields:
                raise AbiError(f"{self.name} has no member {path!r}")
            f = layout.fields[part]
            offset += f.offset
            layout = f.layout
        return offset

    def _value(self, f: Field, data: bytes, pos: int) -> Value:
        if f.bit_size is not None:
            raw = int.from_bytes(data[pos:pos + f.size], "little") >> (f.bit_offset or 0)
            value = raw & ((1 << f.bit_size) - 1)
            if f.signed and value >> (f.bit_size - 1):
                value -= 1 << f.bit_size
            return value
        return self._array(f, data, pos, f.shape)

    def _array(self, f: Field, data: bytes, pos: int, shape: tuple[int, ...]) -> Value:
        if not shape:
            return self._element(f, data, pos)
        if len(shape) == 1 and f.kind == "char":
            return bytes(data[pos:pos + shape[0]])
        stride = f.element_size
        for n in shape[1:]:
            stride *= n
        return [self._array(f, data, pos + i * stride, shape[1:]) for i in range(shape[0])]

    def _element(self, f: Field, data: bytes, pos: int) -> Value:
        size = f.element_size
        if f.layout is not None:
            return f.layout.unpack(data, pos)
        if f.kind == "float":
            return float(_struct.unpack_from({4: "<f", 8: "<d"}[size], data, pos)[0])
        return int.from_bytes(data[pos:pos + size], "little", signed=f.signed)


def _moved(f: Field, by: int) -> Field:
    return Field(f.name, f.offset + by, f.size, f.count, f.type_name, f.kind, f.signed, f.shape,
                 f.bit_offset, f.bit_size, f.layout)


@dataclass
class _Names:
    """Every definition of one kind of thing, by name, as first seen; names
    defined differently in two compilation units are ambiguous."""

    what: str
    found: dict[str, object] = field(default_factory=dict)
    ambiguous: set[str] = field(default_factory=set)

    def add(self, name: str, value: object, same: bool) -> None:
        if name not in self.found:
            self.found[name] = value
        elif not same:
            self.ambiguous.add(name)

    def get(self, path: Path, name: str) -> object:
        if name in self.ambiguous:
            raise AbiError(f"{path}: {self.what} {name!r} is defined differently in two compilation units")
        try:
            return self.found[name]
        except KeyError:
            near = difflib.get_close_matches(name, list(self.found), n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise AbiError(f"{path}: no {self.what} {name!r} in the image{hint}") from None


class Abi:
    """The interface of one ELF image (see the module's docstring)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        elf = ELFFile(io.BytesIO(self.path.read_bytes()))
        if not elf.little_endian:
            raise ValueError(f"{self.path}: big-endian images are not supported")
        self.pointer_size = elf.elfclass // 8
        self._layouts: dict[int, Layout] = {}
        self._structs = _Names("struct, union or typedef")
        self._enums = _Names("enum")
        self._constants = _Names("constant")
        self._symbols = _Names("symbol")
        if not elf.has_dwarf_info():
            raise ValueError(f"{self.path}: no DWARF debug information (build with -g)")
        for cu in elf.get_dwarf_info().iter_CUs():
            for die in cu.iter_DIEs():
                self._index(die)
        self._index_symbols(elf)

    def struct(self, name: str) -> Layout:
        """The layout of a struct or union, by typedef name or by tag
        ("memory_stats_t", "buddy_stats", "struct page")."""
        for prefix in ("struct ", "union "):
            name = name.removeprefix(prefix)
        layout = self._structs.get(self.path, name)
        assert isinstance(layout, Layout)
        return layout

    def enum(self, name: str) -> dict[str, int]:
        """The enumerators of an enum, by tag or typedef name."""
        values = self._enums.get(self.path, name.removeprefix("enum "))
        assert isinstance(values, dict)
        return dict(values)

    def constant(self, name: str) -> int:
        """The value of an enumerator of any enum; for a #define, the
        enumerator ABI_<name> of kernel/abi.c."""
        if name not in self._constants.found and CONSTANT_PREFIX + name in self._constants.found:
            name = CONSTANT_PREFIX + name
        value = self._constants.get(self.path, name)
        assert isinstance(value, int)
        return value

    def constants(self, prefix: str) -> dict[str, int]:
        """Every constant whose name starts with prefix ("PROT_"), by name."""
        out: dict[str, int] = {}
        for name in self._constants.found:
            bare = name.removeprefix(CONSTANT_PREFIX)
            if bare.startswith(prefix):
                out[bare] = self.constant(bare)
        return out

    def symbol(self, name: str) -> int:
        """The address of a function or object (a global one if there are
        several of that name)."""
        value = self._symbols.get(self.path, name)
        assert isinstance(value, int)
        return value

    def _index(self, die: DIE) -> None:
        tag = die.tag
        if tag == "DW_TAG_enumeration_type" and "DW_AT_declaration" not in die.attributes:
            values = _enumerators(die)
            for name, value in values.items():
                self._constants.add(name, value, same=self._constants.found.get(name, value) == value)
            tagname = _name(die)
            if tagname:
                self._enums.add(tagname, values, same=self._enums.found.get(tagname, values) == values)
        elif tag in _AGGREGATES and _name(die) and "DW_AT_declaration" not in die.attributes:
            self._add_struct(_name(die), die)
        elif tag == "DW_TAG_typedef" and "DW_AT_type" in die.attributes:
            target = _strip(die.get_DIE_from_attribute("DW_AT_type"), typedefs=True)
            if target is None or "DW_AT_declaration" in target.attributes:
                return
            if target.tag in _AGGREGATES:
                self._add_struct(_name(die), target)
            elif target.tag == "DW_TAG_enumeration_type":
                values = _enumerators(target)
                self._enums.add(_name(die), values, same=self._enums.found.get(_name(die), values) == values)

    def _add_struct(self, name: str, die: DIE) -> None:
        layout = self._layout(die, name)
        previous = self._structs.found.get(name, layout)
        self._structs.add(name, layout, same=previous is layout or _signature(previous) == _signature(layout))

    def _layout(self, die: DIE, name: str = "") -> Layout:
        known = self._layouts.get(die.offset)
        if known is not None:
            return known
        fields: dict[str, Field] = {}
        for member in die.iter_children():
            if member.tag != "DW_TAG_member":
                continue
            f = self._member(member)
            if f.name:
                fields[f.name] = f
            elif f.layout is not None:
                for sub, g in f.layout.fields.items():
                    fields[sub] = _moved(g, f.offset)
        layout = Layout(name or _type_name(die), die.attributes["DW_AT_byte_size"].value if
                        "DW_AT_byte_size" in die.attributes else 0, fields,
                        union=die.tag == "DW_TAG_union_type")
        self._layouts[die.offset] = layout
        return layout

    def _member(self, member: DIE) -> Field:
        declared = member.get_DIE_from_attribute("DW_AT_type")
        shape: list[int] = []
        element = _strip(declared, typedefs=True)
        while element is not None and element.tag == "DW_TAG_array_type":
            shape += _dimensions(element)
            declared = element.get_DIE_from_attribute("DW_AT_type")
            element = _strip(declared, typedefs=True)
        count = 1
        for n in shape:
            count *= n
        kind, signed, element_size, layout = self._describe(element)
        offset = _member_offset(member)
        name = _name(member)
        f = Field(name, offset, element_size * count, count, _type_name(declared), kind, signed,
                  tuple(shape), layout=layout)
        if "DW_AT_bit_size" in member.attributes:
            bits = member.attributes["DW_AT_bit_size"].value
            if "DW_AT_data_bit_offset" in member.attributes:
                pos = member.attributes["DW_AT_data_bit_offset"].value
            else:  # DWARF 2/3 count from the most significant bit of the storage unit
                unit = member.attributes.get("DW_AT_byte_size")
                unit_bits = 8 * (unit.value if unit else element_size)
                pos = 8 * offset + unit_bits - member.attributes["DW_AT_bit_offset"].value - bits
            f = Field(name, pos // 8, (pos % 8 + bits + 7) // 8, 1, f.type_name, kind, signed,
                      bit_offset=pos % 8, bit_size=bits)
        return f

    def _describe(self, die: DIE | None) -> tuple[str, bool, int, Layout | None]:
        """kind, signedness, size and layout of a type stripped of typedefs and qualifiers."""
        if die is None:
            return "int", False, 0, None
        size = die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size" in die.attributes else 0
        if die.tag in _AGGREGATES:
            return "struct", False, size, self._layout(die)
        if die.tag == "DW_TAG_pointer_type":
            return "pointer", False, size or self.pointer_size, None
        if die.tag == "DW_TAG_enumeration_type":
            return "int", _enum_signed(die), size, None
        encoding = die.attributes["DW_AT_encoding"].value if "DW_AT_encoding" in die.attributes else 0
        if encoding == _DW_ATE_FLOAT:
            return "float", True, size, None
        if die.tag == "DW_TAG_base_type" and _name(die) == "char":
            return "char", encoding == _DW_ATE_SIGNED_CHAR, size, None
        return "int", encoding in (_DW_ATE_SIGNED, _DW_ATE_SIGNED_CHAR), size, None

    def _index_symbols(self, elf: ELFFile) -> None:
        globals_: set[str] = set()
        for section_name in (".symtab", ".dynsym"):
            section = elf.get_section_by_name(section_name)
            if section is None:
                continue
            for sym in section.iter_symbols():
                if not sym.name or sym["st_shndx"] == "SHN_UNDEF" or sym["st_info"]["type"] in ("STT_FILE",
                                                                                                "STT_SECTION"):
                    continue
                value = sym["st_value"]
                is_global = sym["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
                if is_global and sym.name not in globals_:
                    globals_.add(sym.name)
                    self._symbols.found[sym.name] = value
                    self._symbols.ambiguous.discard(sym.name)
                elif sym.name not in globals_:
                    self._symbols.add(sym.name, value, same=self._symbols.found.get(sym.name, value) == value)


def _name(die: DIE) -> str:
    attr = die.attributes.get("DW_AT_name")
    return attr.value.decode("utf-8", errors="replace") if attr else ""


def _strip(die: DIE | None, *, typedefs: bool) -> DIE | None:
    """die without qualifiers (and typedefs); None for void."""
    skip = _QUALIFIERS + (("DW_TAG_typedef",) if typedefs else ())
    while die is not None and die.tag in skip:
        die = die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None
    return die


def _type_name(die: DIE | None) -> str:
    """The C spelling of a type (of one element, for an array)."""
    if die is None:
        return "void"
    if die.tag in _QUALIFIERS:
        inner = die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None
        word = die.tag.removeprefix("DW_TAG_").removesuffix("_type")
        return f"{word} {_type_name(inner)}"
    if die.tag == "DW_TAG_pointer_type":
        inner = die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None
        return f"{_type_name(inner)} *"
    if die.tag == "DW_TAG_array_type":
        return _type_name(die.get_DIE_from_attribute("DW_AT_type"))
    if die.tag == "DW_TAG_subroutine_type":
        return "function"
    keyword = {"DW_TAG_structure_type": "struct ", "DW_TAG_union_type": "union ",
               "DW_TAG_enumeration_type": "enum "}.get(die.tag, "")
    return keyword + (_name(die) or "<anonymous>")


def _dimensions(array: DIE) -> list[int]:
    dims = []
    for sub in array.iter_children():
        if sub.tag != "DW_TAG_subrange_type":
            continue
        if "DW_AT_count" in sub.attributes:
            dims.append(sub.attributes["DW_AT_count"].value)
        elif "DW_AT_upper_bound" in sub.attributes:
            dims.append(sub.attributes["DW_AT_upper_bound"].value + 1)
        else:  # a flexible array member
            dims.append(0)
    return dims


def _member_offset(member: DIE) -> int:
    attr = member.attributes.get("DW_AT_data_member_location")
    if attr is None:
        return 0
    if isinstance(attr.value, int):
        return attr.value
    ops = list(attr.value)  # DWARF 2: an expression, DW_OP_plus_uconst ULEB128
    if not ops or ops[0] != _DW_OP_PLUS_UCONST:
        raise ValueError(f"member {_name(member)!r}: unsupported location expression {ops}")
    value = shift = 0
    for byte in ops[1:]:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value


def _enum_signed(die: DIE) -> bool:
    if "DW_AT_encoding" in die.attributes:
        return die.attributes["DW_AT_encoding"].value in (_DW_ATE_SIGNED, _DW_ATE_SIGNED_CHAR)
    base = _strip(die.get_DIE_from_attribute("DW_AT_type"), typedefs=True) if "DW_AT_type" in die.attributes \
        else None
    if base is None or "DW_AT_encoding" not in base.attributes:
        return True
    return base.attributes["DW_AT_encoding"].value in (_DW_ATE_SIGNED, _DW_ATE_SIGNED_CHAR)


def _enumerators(die: DIE) -> dict[str, int]:
    signed = _enum_signed(die)
    size = die.attributes["DW_AT_byte_size"].value if "DW_AT_byte_size" in die.attributes else 4
    values: dict[str, int] = {}
    for e in die.iter_children():
        if e.tag != "DW_TAG_enumerator":
            continue
        attr = e.attributes["DW_AT_const_value"]
        value = attr.value
        # DW_FORM_dataN carries the bits without a sign; sdata has one already.
        if signed and attr.form.startswith("DW_FORM_data") and value >> (8 * size - 1) & 1:
            value -= 1 << (8 * size)
        values[_name(e)] = value
    return values


def _signature(layout: object) -> object:
    if not isinstance(layout, Layout):
        return None
    return layout.size, [(n, f.offset, f.size, f.shape, f.bit_offset, f.bit_size, _signature(f.layout))
                         for n, f in layout.fields.items()]


_cache: dict[tuple[str, int, int], Abi] = {}
_cache_lock = threading.Lock()


def load(path: Path | str) -> Abi:
    """The Abi of the image at path, read once per version of the file."""
    resolved = os.path.realpath(path)
    st = os.stat(resolved)
    key = (resolved, st.st_mtime_ns, st.st_size)
    with _cache_lock:
        abi = _cache.get(key)
        if abi is None:
            for old in [k for k in _cache if k[0] == resolved]:
                del _cache[old]
            abi = _cache[key] = _parsed(Path(resolved))
        return abi


def _parsed(path: Path) -> Abi:
    """The image's Abi from the parse on disk, or parsed now and saved there."""
    abi = diskcache.cached("abi", Path(__file__).read_bytes() + path.read_bytes(), lambda: Abi(path))
    abi.path = path
    return abi
