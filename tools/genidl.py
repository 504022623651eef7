#!/usr/bin/env python3
"""genidl: the Fumi IDL compiler (DESIGN.md, "Interfaces (IDL)").

    python3 tools/genidl.py --out build/gen [--docs docs/messages.md]
        [--lua tools/wireshark/fumi_messages.lua] interfaces/*.idl

The pipeline has three stages:

1. Parse. Each .idl file declares one interface; IdlParser turns it into an
   Interface of Messages whose arguments and results are Payloads of Fields.
   Error names are checked against the ERROR_LIST of libs/common/error.h.
2. Check and lay out. Payload.lay_out() places the inline fields exactly as
   GCC does (natural alignment, size rounded up to the widest member) and
   every rule of the message format is enforced. Problems are reported as
   "file:line: message" on stderr with exit status 1.
3. Emit. Each emitter turns the model into one text:
       OUT/idl/IFACE.h   ids, structs with static asserts, message builders,
                         server ops and dispatch, client wrapper prototypes
       OUT/idl.h         every IFACE.h, the name lookups, shared helpers
       OUT/idl_server.c  dispatch and validation (freestanding)
       OUT/idl_client.c  typed client wrappers (user programs)
       OUT/idl_names.c   message type -> name tables (freestanding)
       OUT/idl.json      the whole model (the Wireshark table is made from it)
       docs/messages.md  the message reference (with --docs)
       tools/wireshark/fumi_messages.lua
                         the dissector's message table (with --lua)
   A file is rewritten only when its content changes, so make sees stable
   modification times.

The grammar is line based. '#' lines directly above an interface, call or
oneway line are its documentation.

    interface NAME ID                   NAME [a-z][a-z0-9_]*, ID 1..255
    call NAME ID (ARGS) -> (RESULTS)    ID 1..127, unique in the interface
    oneway NAME ID (ARGS)
        errors ERR1, ERR2               optional, indented, on the next line
    ARGS  := empty | FIELD {, FIELD}    FIELD := name: TYPE
    TYPE  := u8 u16 u32 u64 i8 i16 i32 i64 | string[N] | bytes[N] | channel | page

A channel or page field travels in the message header, so a payload has at
most one of each; everything else is inline (at most MSG_INLINE_MAX bytes).
"""

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ERROR_H = os.path.join(REPO, "libs", "common", "error.h")
GENERATOR = "tools/genidl.py"

# The message format of libs/common/message.h.
MSG_SIZE = 256
MSG_HEADER_SIZE = 32
MSG_INLINE_MAX = 224
MSG_REPLY_FLAG = 0x80
HEADER_CHANNEL_OFFSET = 12
HEADER_PAGE_OFFSET = 16
PAYLOAD_FLAGS = {"page": "MSG_PAGE_BIT", "channel": "MSG_CHANNEL_BIT"}

INT_TYPES = {
    "u8": ("uint8_t", 1), "u16": ("uint16_t", 2), "u32": ("uint32_t", 4), "u64": ("uint64_t", 8),
    "i8": ("int8_t", 1), "i16": ("int16_t", 2), "i32": ("int32_t", 4), "i64": ("int64_t", 8),
}

NAME_RE = r"[a-z][a-z0-9_]*"
INTERFACE_RE = re.compile(rf"interface\s+({NAME_RE})\s+(\d+)$")
CALL_RE = re.compile(rf"call\s+({NAME_RE})\s+(\d+)\s*\(([^()]*)\)\s*->\s*\(([^()]*)\)$")
ONEWAY_RE = re.compile(rf"oneway\s+({NAME_RE})\s+(\d+)\s*\(([^()]*)\)$")
ERRORS_RE = re.compile(r"errors\s+(.+)$")
FIELD_RE = re.compile(rf"({NAME_RE})\s*:\s*(\S+)$")
SIZED_TYPE_RE = re.compile(r"(string|bytes)\[(\d+)\]$")
ERROR_LIST_RE = re.compile(r'X\((ERR_[A-Z0-9_]+),\s*(\d+),\s*"([^"]*)"\)')

C_KEYWORDS = frozenset("""
    asm auto bool break case char const continue default do double else enum extern false
    float for goto if inline int long register restrict return short signed sizeof static
    struct switch true typedef typeof union unsigned void volatile while
""".split())
# Identifiers the generated C code declares next to the fields' own names.
RESERVED_NAMES = frozenset({"m", "i", "req", "rep", "err", "server", "ctx", "from", "reply", "ops"})

LINE_WIDTH = 100


def c_ident(name):
    """The C spelling of an IDL name: a C keyword gets a trailing underscore."""
    return name + "_" if name in C_KEYWORDS else name


def source_name(path):
    """How a source file is named in messages and banners: repository-relative if inside it."""
    full = os.path.abspath(path)
    return os.path.relpath(full, REPO) if full.startswith(REPO + os.sep) else path


class IdlError(Exception):
    """A problem in an IDL file, reported as file:line: message."""

    def __init__(self, source, line, message):
        super().__init__(f"{source}:{line}: {message}")


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Type:
    kind: str      # "int", "string", "bytes", "channel" or "page"
    spelling: str  # as written in the IDL: "u32", "string[32]"
    c_type: str    # the C type of the value or of one element: "uint32_t", "char", "uint8_t"
    size: int      # inline bytes; 0 for the header-carried channel and page
    align: int
    n: int = 0     # N of string[N] and bytes[N]

    @property
    def inline(self):
        return self.kind not in PAYLOAD_FLAGS


@dataclass
class Field:
    name: str
    type: Type
    offset: int | None = None  # in the inline payload; None for a header-carried field

    @property
    def c_name(self):
        return c_ident(self.name)

    def members(self):
        """The C struct members of an inline field: (declaration, name, offset, size)."""
        t, name = self.type, self.c_name
        if t.kind == "int":
            return [(f"{t.c_type} {name}", name, self.offset, t.size)]
        if t.kind == "string":
            return [(f"char {name}[{t.n}]", name, self.offset, t.n)]
        return [(f"uint16_t {name}_len", f"{name}_len", self.offset, 2),
                (f"uint8_t {name}[{t.n}]", name, self.offset + 2, t.n)]


@dataclass
class Payload:
    """The arguments or the results of a message."""
    fields: list
    size: int = 0  # of the inline struct; 0 means no struct and an empty inline payload

    @property
    def inline_fields(self):
        return [f for f in self.fields if f.type.inline]

    def header_field(self, kind):
        return next((f for f in self.fields if f.type.kind == kind), None)

    @property
    def flags(self):
        """The header bits this payload sets, as a C expression."""
        bits = [PAYLOAD_FLAGS[f.type.kind] for f in self.fields if not f.type.inline]
        return " | ".join(sorted(bits)) or "0"

    def lay_out(self):
        """Place the inline fields with natural alignment, as GCC does."""
        offset, align = 0, 1
        for f in self.inline_fields:
            offset = -(-offset // f.type.align) * f.type.align
            f.offset = offset
            offset += f.type.size
            align = max(align, f.type.align)
        self.size = -(-offset // align) * align


@dataclass
class Message:
    iface: str
    iface_id: int
    name: str
    id: int
    oneway: bool
    line: int
    doc: list
    args: Payload
    results: Payload | None  # None for a oneway message
    errors: list = field(default_factory=list)

    @property
    def full_name(self):
        return f"{self.iface}.{self.name}"

    @property
    def prefix(self):
        return f"{self.iface}_{self.name}"

    @property
    def type(self):
        return (self.iface_id << 8) | self.id

    @property
    def reply_type(self):
        return None if self.oneway else self.type | MSG_REPLY_FLAG

    @property
    def type_macro(self):
        return f"{self.prefix.upper()}_MSG"

    @property
    def reply_macro(self):
        return f"{self.prefix.upper()}_REPLY_MSG"

    @property
    def req_struct(self):
        return f"struct {self.prefix}_req" if self.args.size else None

    @property
    def rep_struct(self):
        return f"struct {self.prefix}_rep" if self.results and self.results.size else None

    def out_name(self, result):
        """A result's C name in signatures: out_NAME when an argument has the same name."""
        taken = {a.name for a in self.args.fields}
        return c_ident("out_" + result.name if result.name in taken else result.name)


@dataclass
class Interface:
    name: str
    id: int
    source: str
    line: int
    doc: list
    messages: list = field(default_factory=list)


@dataclass(frozen=True)
class ErrorCode:
    name: str  # "ERR_NOT_FOUND"
    code: int  # negative
    desc: str


def load_errors(path=ERROR_H):
    """The ERROR_LIST of error.h, in order."""
    with open(path) as f:
        entries = ERROR_LIST_RE.findall(f.read())
    return [ErrorCode(name, -int(num), desc) for name, num, desc in entries]


# ---------------------------------------------------------------------------
# C parameter lists (shared by the checks and the emitters)
# ---------------------------------------------------------------------------

def value_params(f, name=None):
    """(type, name) pairs passing field f by value (an argument, or a result to a reply builder)."""
    n, t = name or f.c_name, f.type
    return {
        "int": [(t.c_type, n)],
        "string": [("const char *", n)],
        "bytes": [("const void *", n), ("size_t", f"{n}_len")],
        "channel": [("cid_t", n)],
        "page": [("uint64_t", f"{n}_addr"), ("uint64_t", f"{n}_len")],
    }[t.kind]


def out_params(f, name):
    """(type, name) pairs through which a handler or a client wrapper returns result f."""
    t = f.type
    return {
        "int": [(f"{t.c_type} *", name)],
        "string": [("char *", name)],
        "bytes": [("void *", name), ("size_t *", f"{name}_len")],
        "channel": [("cid_t *", name)],
        "page": [("uint64_t *", f"{name}_addr"), ("uint64_t *", f"{name}_len")],
    }[t.kind]


def payload_params(payload):
    """The C parameters that pass a whole payload by value (builders, requests)."""
    return [p for f in payload.fields for p in value_params(f)]


def message_params(msg):
    """The C parameters of a message's arguments and then its results (out pointers)."""
    params = payload_params(msg.args)
    for f in msg.results.fields if msg.results else []:
        params += out_params(f, msg.out_name(f))
    return params


def render_params(params):
    return [f"{t}{n}" if t.endswith("*") else f"{t} {n}" for t, n in params]


# ---------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------

class IdlParser:
    """Turns the text of one .idl file into an Interface; raises IdlError at the first problem."""

    def __init__(self, source, text, error_names):
        self.source = source
        self.text = text
        self.error_names = error_names
        self.lineno = 0
        self.doc = []          # comment lines waiting for the next declaration
        self.last = None       # the message an "errors" line may follow
        self.iface = None

    def error(self, message, line=None):
        return IdlError(self.source, line or self.lineno, message)

    def parse(self):
        for self.lineno, raw in enumerate(self.text.splitlines(), 1):
            self.parse_line(raw)
        if not self.iface:
            raise self.error("no interface declared", line=1)
        if not self.iface.messages:
            raise self.error("interface has no messages", line=self.iface.line)
        return self.iface

    def parse_line(self, raw):
        text = raw.strip()
        last, self.last = self.last, None
        if not text:
            self.doc = []
        elif text.startswith("#"):
            self.doc.append(text[1:].removeprefix(" "))
        elif raw[0].isspace():
            self.parse_errors(text, last)
        else:
            doc, self.doc = self.doc, []
            self.parse_declaration(text, doc)

    def parse_declaration(self, text, doc):
        keyword = text.split()[0]
        if keyword == "interface":
            self.parse_interface(text, doc)
        elif keyword in ("call", "oneway"):
            self.parse_message(text, doc, keyword == "oneway")
        else:
            raise self.error(f"expected interface, call or oneway, not '{keyword}'")

    def parse_interface(self, text, doc):
        match = INTERFACE_RE.match(text)
        if not match:
            raise self.error("expected 'interface NAME ID'")
        if self.iface:
            raise self.error(f"second interface in one file (first: {self.iface.name})")
        name, iface_id = match[1], self.number(match[2], 1, 255, "interface id")
        self.iface = Interface(name, iface_id, self.source, self.lineno, doc)

    def parse_message(self, text, doc, oneway):
        match = (ONEWAY_RE if oneway else CALL_RE).match(text)
        if not match:
            form = "oneway NAME ID (ARGS)" if oneway else "call NAME ID (ARGS) -> (RESULTS)"
            raise self.error(f"expected '{form}'")
        if not self.iface:
            raise self.error("message before the interface line")
        name, msg_id = match[1], self.number(match[2], 1, 127, "message id")
        args = self.parse_payload(match[3], "argument")
        results = None if oneway else self.parse_payload(match[4], "result")
        msg = Message(self.iface.name, self.iface.id, name, msg_id, oneway, self.lineno, doc,
                      args, results)
        self.check_message(msg)
        self.iface.messages.append(msg)
        self.last = msg

    def parse_payload(self, text, what):
        fields = [self.parse_field(part.strip(), what) for part in text.split(",")] \
            if text.strip() else []
        names = [f.name for f in fields]
        for name in names:
            if names.count(name) > 1:
                raise self.error(f"duplicate {what} name '{name}'")
        for kind in PAYLOAD_FLAGS:
            if sum(f.type.kind == kind for f in fields) > 1:
                raise self.error(f"more than one {kind} {what} (it travels in the header)")
        payload = Payload(fields)
        payload.lay_out()
        if payload.size > MSG_INLINE_MAX:
            raise self.error(f"{what}s take {payload.size} inline bytes, more than "
                             f"MSG_INLINE_MAX ({MSG_INLINE_MAX})")
        return payload

    def parse_field(self, text, what):
        match = FIELD_RE.match(text)
        if not match:
            raise self.error(f"expected '{what} name: TYPE', not '{text}'")
        return Field(match[1], self.parse_type(match[2]))

    def parse_type(self, spelling):
        if spelling in INT_TYPES:
            c_type, size = INT_TYPES[spelling]
            return Type("int", spelling, c_type, size, size)
        if spelling in PAYLOAD_FLAGS:
            return Type(spelling, spelling, "cid_t" if spelling == "channel" else "uint64_t", 0, 1)
        match = SIZED_TYPE_RE.match(spelling)
        if not match:
            raise self.error(f"unknown type '{spelling}'")
        n = self.number(match[2], 1, MSG_INLINE_MAX, f"size of {match[1]}")
        if match[1] == "string":
            return Type("string", spelling, "char", n, 1, n)
        return Type("bytes", spelling, "uint8_t", n + 2, 2, n)

    def parse_errors(self, text, msg):
        match = ERRORS_RE.match(text)
        if not match or not msg:
            raise self.error("an indented line must be 'errors NAME, ...' right after a message")
        for name in (part.strip() for part in match[1].split(",")):
            if "ERR_" + name not in self.error_names:
                raise self.error(f"unknown error '{name}' (not ERR_{name} in libs/common/error.h)")
            if "ERR_" + name in msg.errors:
                raise self.error(f"error '{name}' listed twice")
            msg.errors.append("ERR_" + name)

    def check_message(self, msg):
        for other in self.iface.messages:
            if other.name == msg.name:
                raise self.error(f"duplicate message name '{msg.name}' (line {other.line})")
            if other.id == msg.id:
                raise self.error(f"duplicate message id {msg.id} ({other.name}, line {other.line})")
        self.check_c_names(msg)

    def check_c_names(self, msg):
        """Every C parameter list made for the message must have distinct, unreserved names."""
        lists = [message_params(msg), payload_params(msg.args)]
        if msg.results:
            lists.append(payload_params(msg.results))
        for params in lists:
            names = [n for _, n in params]
            for name in names:
                if name in RESERVED_NAMES:
                    raise self.error(f"field name '{name}' is reserved by the generated C code")
                if names.count(name) > 1:
                    raise self.error(f"C name '{name}' would be declared twice "
                                     "(bytes add NAME_len, page adds NAME_addr and NAME_len)")

    def number(self, text, low, high, what):
        value = int(text)
        if not low <= value <= high:
            raise self.error(f"{what} {value} is not in {low}..{high}")
        return value


def parse_files(paths, error_names):
    """Parse every file; interfaces sorted by id, with unique names and ids."""
    interfaces = []
    for path in paths:
        source = source_name(path)
        with open(path) as f:
            iface = IdlParser(source, f.read(), error_names).parse()
        for other in interfaces:
            if iface.name == other.name or iface.id == other.id:
                raise IdlError(source, iface.line, f"interface {iface.name} {iface.id} clashes "
                               f"with {other.name} {other.id} ({other.source}:{other.line})")
        interfaces.append(iface)
    check_functions(interfaces)
    return sorted(interfaces, key=lambda i: i.id)


def check_functions(interfaces):
    """No two generated C functions may share a name (fs.x_build and fs.x, a_b.c and a.b_c)."""
    owners = {}
    for iface in interfaces:
        functions = [(f"{iface.name}_dispatch", f"interface {iface.name}", iface.line)]
        functions += [(msg.prefix + suffix, msg.full_name, msg.line) for msg in iface.messages
                      for suffix in ("", "_build", "_reply", "_decode", "_serve")]
        for name, owner, line in functions:
            if name in owners:
                raise IdlError(iface.source, line, f"the C function {name} of {owner} clashes "
                               f"with one of {owners[name]}")
            owners[name] = f"{owner} ({iface.source}:{line})"


# ---------------------------------------------------------------------------
# C emitters
# ---------------------------------------------------------------------------

def generated_note(sources):
    return f"generated by {GENERATOR} from {sources}, do not edit"


def banner(sources):
    return f"/* {generated_note(sources)} */"


def c_comment(lines):
    return ["/*"] + [f" * {line}".rstrip() for line in lines] + [" */"] if lines else []


def wrap_call(head, args, tail):
    """head(args)tail, wrapped at LINE_WIDTH with the continuation lines aligned after '('."""
    line = f"{head}({', '.join(args)}){tail}"
    if len(line) <= LINE_WIDTH:
        return [line]
    lines, current = [], f"{head}("
    pad = " " * len(current)
    for i, arg in enumerate(args):
        piece = arg + ("," if i < len(args) - 1 else f"){tail}")
        if current.endswith("("):
            current += piece
        elif len(current) + 1 + len(piece) <= LINE_WIDTH:
            current += " " + piece
        else:
            lines.append(current)
            current = pad + piece
    return lines + [current]


def hex_type(value):
    return f"0x{value:04x}"


def ops_member(msg):
    return c_ident(msg.name)


def handler_signature(msg):
    return f"error_t (*{ops_member(msg)})", \
        ["void *ctx", "cid_t from"] + render_params(message_params(msg))


def server_params(iface):
    """The parameters of IFACE_dispatch and of the per-message functions it calls."""
    return [f"const struct {iface.name}_server_ops *ops", "void *ctx", "const struct message *m",
            "struct message *reply"]


def client_signature(msg):
    return f"error_t {msg.prefix}", ["cid_t server"] + render_params(message_params(msg))


def emit_struct(struct, payload):
    lines = [f"{struct} {{"]
    lines += [f"    {decl};" for f in payload.inline_fields for decl, *_ in f.members()]
    lines += ["};", f"STATIC_ASSERT(sizeof({struct}) == {payload.size});",
              f"STATIC_ASSERT(sizeof({struct}) <= MSG_INLINE_MAX);"]
    lines += [f"STATIC_ASSERT(offsetof_({struct}, {name}) == {offset});"
              for f in payload.inline_fields for _, name, offset, _ in f.members()]
    return lines + [""]


def emit_field_store(f, var):
    """Statements that copy argument f into the local struct var (bounded, NUL kept)."""
    n = f.c_name
    if f.type.kind == "int":
        return [f"    {var}.{n} = {n};"]
    if f.type.kind == "string":
        return [f"    for (size_t i = 0; i + 1 < sizeof({var}.{n}) && {n}[i] != '\\0'; i++)",
                f"        {var}.{n}[i] = {n}[i];"]
    size = f"sizeof({var}.{n})"
    return [f"    {var}.{n}_len = (uint16_t) ({n}_len < {size} ? {n}_len : {size});",
            f"    for (size_t i = 0; i < {var}.{n}_len; i++)",
            f"        {var}.{n}[i] = ((const uint8_t *) {n})[i];"]


def emit_header_store(payload):
    lines = []
    channel, page = payload.header_field("channel"), payload.header_field("page")
    if channel:
        lines.append(f"    m->channel = {channel.c_name};")
    if page:
        lines += [f"    m->page_addr = {page.c_name}_addr;",
                  f"    m->page_len = {page.c_name}_len;"]
    return lines


def emit_builder(name, type_macro, payload, struct, var):
    """A static inline function that fills a whole message from typed values."""
    params = ["struct message *m"] + render_params(payload_params(payload))
    lines = wrap_call(f"static inline void {name}", params, " {")
    if struct:
        lines += [f"    {struct} {var};", f"    __builtin_memset(&{var}, 0, sizeof({var}));"]
        for f in payload.inline_fields:
            lines += emit_field_store(f, var)
    length = f"sizeof({var})" if struct else "0"
    lines += ["    __builtin_memset(m, 0, sizeof(*m));",
              f"    m->header = msg_header({type_macro}, {length}, {payload.flags});"]
    lines += emit_header_store(payload)
    if struct:
        lines.append(f"    __builtin_memcpy(m->data, &{var}, sizeof({var}));")
    return lines + ["}", ""]


def emit_message_decls(msg):
    title = f"{msg.full_name} ({'oneway' if msg.oneway else 'call'} {msg.id})"
    lines = c_comment([title] + ([""] + msg.doc if msg.doc else []))
    lines.append(f"#define {msg.type_macro} MSG_TYPE({msg.iface.upper()}_IFACE_ID, {msg.id})")
    if not msg.oneway:
        lines.append(f"#define {msg.reply_macro} ({msg.type_macro} | MSG_REPLY_FLAG)")
    lines.append("")
    if msg.req_struct:
        lines += emit_struct(msg.req_struct, msg.args)
    if msg.rep_struct:
        lines += emit_struct(msg.rep_struct, msg.results)
    lines += emit_builder(f"{msg.prefix}_build", msg.type_macro, msg.args, msg.req_struct, "req")
    if not msg.oneway:
        lines += emit_builder(f"{msg.prefix}_reply", msg.reply_macro, msg.results, msg.rep_struct,
                              "rep")
    head, params = client_signature(msg)
    return lines + wrap_call(head, params, ";") + [""]


IFACE_H_INTRO = """\
For each message: its type ids, the inline structs of the request (_req) and
reply (_rep) with static asserts on every size and offset (no struct when
there is no inline field), the builders NAME_build / NAME_reply that fill a
whole message (zeroed first; strings and bytes are cut to fit), and the
client wrapper NAME(server, ...) defined in idl_client.c. A server fills
struct IFACE_server_ops and calls IFACE_dispatch (idl_server.c), which
validates each request before the handler sees it. A result named like an
argument is passed as out_NAME.""".replace("IFACE", "{iface}")


def emit_iface_h(iface):
    intro = IFACE_H_INTRO.format(iface=iface.name).splitlines()
    lines = [banner(iface.source)] + c_comment(iface.doc + [""] + intro if iface.doc else intro)
    lines += ["#pragma once", "", "#include <common/message.h>", "",
              f"#define {iface.name.upper()}_IFACE_ID {iface.id}", ""]
    for msg in iface.messages:
        lines += emit_message_decls(msg)
    lines += [f"/* The handlers of a {iface.name} server; NULL: ERR_NOT_SUPPORTED. */",
              f"struct {iface.name}_server_ops {{"]
    for msg in iface.messages:
        head, params = handler_signature(msg)
        lines += wrap_call("    " + head, params, ";")
    lines += ["};", "", "/* Handle m if it is a request of this interface (false otherwise). */"]
    dispatch = wrap_call(f"bool {iface.name}_dispatch", server_params(iface), ";")
    return "\n".join(lines + dispatch) + "\n"


IDL_H_BODY = """\
/* "fs.read", "fs.read.reply", "notification" for type 0; NULL if unknown. */
const char *idl_msg_name(uint32_t type);
/* "fs" for the id of the fs interface; NULL if unknown. */
const char *idl_iface_name(uint32_t iface_id);

/* Make reply the error reply to a request of type req_type: the error bit
 * and the negative err in the first 4 inline bytes. */
void idl_error_reply(struct message *reply, uint32_t req_type, error_t err);

/* Whether s holds a NUL within its first n bytes (a string that fits a string[n]). */
static inline bool idl_string_ok(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\0')
            return true;
    }
    return false;
}
"""


def emit_idl_h(interfaces, sources):
    lines = [banner(sources), "/* Every generated interface header, and what they share. */",
             "#pragma once", ""]
    lines += [f"#include <idl/{iface.name}.h>" for iface in interfaces]
    return "\n".join(lines) + "\n\n" + IDL_H_BODY


IDL_SERVER_INTRO = """\
/*
 * Server-side dispatch for every interface. IFACE_dispatch takes a request
 * of its interface, checks it against the IDL (inline length, payload bits,
 * NUL-terminated strings, bytes lengths), copies it out of the message and
 * calls the handler with typed arguments. m and reply may be the same
 * buffer: nothing is read from m once the reply is being written.
 *
 * A call gets a reply: ERR_BAD_MESSAGE for an invalid request,
 * ERR_NOT_SUPPORTED for a NULL handler, the handler's error, or the typed
 * reply built from its out values; IDL_DEFER_REPLY leaves reply->header 0
 * (the server replies later). A oneway message never gets one.
 * Freestanding: no libc.
 */
#include <idl.h>

void idl_error_reply(struct message *reply, uint32_t req_type, error_t err) {
    int32_t code = err;
    __builtin_memset(reply, 0, sizeof(*reply));
    reply->header = msg_header(req_type | MSG_REPLY_FLAG, sizeof(code), MSG_ERROR_BIT);
    __builtin_memcpy(reply->data, &code, sizeof(code));
}

/* The inline length and the payload and error bits are what the type declares. */
static bool idl_header_ok(const struct message *m, uint32_t len, uint32_t flags) {
    uint32_t bits = m->header & (MSG_PAGE_BIT | MSG_CHANNEL_BIT | MSG_ERROR_BIT);
    return msg_len(m) == len && bits == flags;
}

/* Settle a call whose handler returned err: true if the typed reply is to be
 * built now; otherwise reply is an error reply or, deferred, has header 0. */
static bool idl_handler_ok(struct message *reply, uint32_t type, error_t err) {
    if (err == OK)
        return true;
    if (err == IDL_DEFER_REPLY)
        reply->header = 0;
    else
        idl_error_reply(reply, type, IS_ERROR(err) ? err : ERR_UNEXPECTED);
    return false;
}
"""


def emit_decode(msg):
    """A function that validates a request and copies its inline struct out."""
    checks = [f"idl_string_ok(req->{f.c_name}, sizeof(req->{f.c_name}))"
              for f in msg.args.inline_fields if f.type.kind == "string"]
    checks += [f"req->{f.c_name}_len <= sizeof(req->{f.c_name})"
               for f in msg.args.inline_fields if f.type.kind == "bytes"]
    lines = wrap_call(f"static bool {msg.prefix}_decode",
                      ["const struct message *m", f"{msg.req_struct} *req"], " {")
    lines += [f"    if (!idl_header_ok(m, sizeof(*req), {msg.args.flags}))",
              "        return false;", "    __builtin_memcpy(req, m->data, sizeof(*req));"]
    if checks:
        lines += [f"    return {checks[0]}"] + [f"           && {c}" for c in checks[1:]]
        lines[-1] += ";"
    else:
        lines.append("    return true;")
    return lines + ["}", ""]


def handler_in_args(f):
    n = f.c_name
    return {"int": [f"req.{n}"], "string": [f"req.{n}"], "bytes": [f"req.{n}", f"req.{n}_len"],
            "channel": ["m->channel"], "page": ["m->page_addr", "m->page_len"]}[f.type.kind]


def out_locals(msg):
    """The zeroed locals a handler writes the results to: (declaration, pointer, value) each."""
    out = []
    for f in msg.results.fields:
        for c_type, name in value_params(f, "out_" + f.c_name):
            if f.type.kind == "string":
                out.append((f"char {name}[{f.type.n}] = {{0}};", name, name))
            elif f.type.kind == "bytes" and c_type == "const void *":
                out.append((f"uint8_t {name}[{f.type.n}] = {{0}};", name, name))
            else:
                out.append((f"{c_type} {name} = 0;", f"&{name}", name))
    return out


def emit_serve(msg, iface):
    """The function that validates one request, calls its handler and settles the reply."""
    handler = f"ops->{ops_member(msg)}"
    valid = f"{msg.prefix}_decode(m, &req)" if msg.req_struct else \
        f"idl_header_ok(m, 0, {msg.args.flags})"
    in_args = ["ctx", "m->from"] + [a for f in msg.args.fields for a in handler_in_args(f)]
    lines = wrap_call(f"static void {msg.prefix}_serve", server_params(iface), " {")
    if msg.req_struct:
        lines.append(f"    {msg.req_struct} req;")
    if msg.oneway:
        lines.append(f"    if ({valid} && {handler})")
        lines += wrap_call(f"        {handler}", in_args, ";")
        return lines + ["    reply->header = 0;", "}", ""]
    for check, err in ((f"!{valid}", "ERR_BAD_MESSAGE"), (f"!{handler}", "ERR_NOT_SUPPORTED")):
        lines += [f"    if ({check}) {{", f"        idl_error_reply(reply, {msg.type_macro}, {err});",
                  "        return;", "    }"]
    results = out_locals(msg)
    lines += [f"    {decl}" for decl, _, _ in results]
    lines += wrap_call(f"    error_t err = {handler}", in_args + [p for _, p, _ in results], ";")
    reply_args = ["reply"] + [value for _, _, value in results]
    lines.append(f"    if (idl_handler_ok(reply, {msg.type_macro}, err))")
    lines += wrap_call(f"        {msg.prefix}_reply", reply_args, ";")
    return lines + ["}", ""]


def emit_dispatch(iface):
    lines = wrap_call(f"bool {iface.name}_dispatch", server_params(iface), " {")
    lines += ["    switch (msg_type(m)) {"]
    for msg in iface.messages:
        lines += [f"    case {msg.type_macro}:", f"        {msg.prefix}_serve(ops, ctx, m, reply);",
                  "        return true;"]
    return lines + ["    default:", "        return false;", "    }", "}", ""]


def emit_idl_server_c(interfaces, sources):
    lines = [banner(sources), IDL_SERVER_INTRO]
    for iface in interfaces:
        lines.append(f"/* ---- {iface.name} ---- */\n")
        for msg in iface.messages:
            if msg.req_struct:
                lines += emit_decode(msg)
            lines += emit_serve(msg, iface)
        lines += emit_dispatch(iface)
    return "\n".join(lines).rstrip("\n") + "\n"


IDL_CLIENT_INTRO = """\
/*
 * Typed client wrappers: each checks its string and bytes arguments
 * (ERR_TOO_LARGE) before touching the IPC buffer, builds the request there,
 * calls (or sends, for oneway) and copies the results out. The reply's
 * type, length and payload bits are checked by ipc_call_checked; its
 * strings and bytes lengths are checked here (ERR_BAD_MESSAGE), before any
 * out pointer is written. NULL out pointers are skipped.
 */
#include <user/user.h>
#include <idl.h>
"""


def emit_arg_checks(msg):
    lines = []
    for f in msg.args.inline_fields:
        if f.type.kind == "string":
            lines += [f"    if (!idl_string_ok({f.c_name}, {f.type.n}))",
                      "        return ERR_TOO_LARGE;"]
        elif f.type.kind == "bytes":
            lines += [f"    if ({f.c_name}_len > {f.type.n})", "        return ERR_TOO_LARGE;"]
    return lines


def emit_result_copies(msg):
    """Check the reply's strings and bytes, then copy every result to its out pointer."""
    checks, copies = [], []
    for f in msg.results.fields:
        out, n, kind = msg.out_name(f), f.c_name, f.type.kind
        if kind == "string":
            checks.append(f"!idl_string_ok(rep.{n}, sizeof(rep.{n}))")
            copies += [f"    if ({out})",
                       f"        __builtin_memcpy({out}, rep.{n}, sizeof(rep.{n}));"]
        elif kind == "bytes":
            checks.append(f"rep.{n}_len > sizeof(rep.{n})")
            copies += [f"    if ({out})", f"        __builtin_memcpy({out}, rep.{n}, rep.{n}_len);",
                       f"    if ({out}_len)", f"        *{out}_len = rep.{n}_len;"]
        elif kind == "page":
            copies += [f"    if ({out}_addr)", f"        *{out}_addr = m->page_addr;",
                       f"    if ({out}_len)", f"        *{out}_len = m->page_len;"]
        else:
            value = f"rep.{n}" if kind == "int" else "m->channel"
            copies += [f"    if ({out})", f"        *{out} = {value};"]
    lines = []
    if msg.rep_struct:
        lines += [f"    {msg.rep_struct} rep;", "    __builtin_memcpy(&rep, m->data, sizeof(rep));"]
    for check in checks:
        lines += [f"    if ({check})", "        return ERR_BAD_MESSAGE;"]
    return lines + copies


def emit_client(msg):
    head, params = client_signature(msg)
    lines = wrap_call(head, params, " {") + emit_arg_checks(msg)
    build_args = ["m"] + [name for _, name in payload_params(msg.args)]
    lines.append("    struct message *m = ipc_buffer();")
    lines += wrap_call(f"    {msg.prefix}_build", build_args, ";")
    if msg.oneway:
        return lines + ["    return ipc_send_buffer(server);", "}", ""]
    length = f"sizeof({msg.rep_struct})" if msg.rep_struct else "0"
    call_args = ["server", msg.reply_macro, length, msg.results.flags]
    if not msg.results.fields:
        return lines + wrap_call("    return ipc_call_checked", call_args, ";") + ["}", ""]
    lines += wrap_call("    error_t err = ipc_call_checked", call_args, ";")
    lines += ["    if (err)", "        return err;"] + emit_result_copies(msg)
    return lines + ["    return OK;", "}", ""]


def emit_idl_client_c(interfaces, sources):
    lines = [banner(sources), IDL_CLIENT_INTRO]
    for iface in interfaces:
        for msg in iface.messages:
            lines += emit_client(msg)
    return "\n".join(lines).rstrip("\n") + "\n"


def emit_idl_names_c(interfaces, sources):
    lines = [banner(sources), "/* Names of interfaces and message types, for traces and logs. */",
             "#include <idl.h>", "", "const char *idl_iface_name(uint32_t iface_id) {",
             "    switch (iface_id) {"]
    for iface in interfaces:
        lines += [f"    case {iface.name.upper()}_IFACE_ID:", f'        return "{iface.name}";']
    lines += ["    default:", "        return NULL;", "    }", "}", "",
              "const char *idl_msg_name(uint32_t type) {", "    switch (type) {",
              "    case MSG_NOTIFICATION:", '        return "notification";']
    for msg in (m for iface in interfaces for m in iface.messages):
        lines += [f"    case {msg.type_macro}:", f'        return "{msg.full_name}";']
        if not msg.oneway:
            lines += [f"    case {msg.reply_macro}:", f'        return "{msg.full_name}.reply";']
    return "\n".join(lines + ["    default:", "        return NULL;", "    }", "}"]) + "\n"


# ---------------------------------------------------------------------------
# JSON model
# ---------------------------------------------------------------------------

JSON_FORMAT = (
    "Offsets are from the start of the inline payload, which is at message offset "
    f"{MSG_HEADER_SIZE}; integers are little endian. A bytes field is a uint16_t length at "
    "'offset' followed by n data bytes at 'data_offset'. channel and page fields travel in "
    "the header (offset null, 'header_offset' given): the cid at 12, the page address at 16 "
    "and its length at 24. A reply type is the request type | reply_flag; an error reply sets "
    "flags.error and carries the negative error code as an i32 at inline offset 0.")


def field_json(f):
    t = f.type
    c_type = {"string": f"char[{t.n}]", "bytes": f"uint8_t[{t.n}]"}.get(t.kind, t.c_type)
    out = {"name": f.name, "kind": t.kind, "type": t.spelling, "c_type": c_type,
           "offset": f.offset, "size": t.size, "n": t.n or None}
    if t.kind == "int":
        out["signed"] = t.spelling.startswith("i")
    if t.kind == "bytes":
        out["data_offset"] = f.offset + 2
    if t.kind == "channel":
        out.update(size=4, header_offset=HEADER_CHANNEL_OFFSET)
    if t.kind == "page":
        out.update(size=16, header_offset=HEADER_PAGE_OFFSET)
    return out


def payload_json(payload, struct):
    if payload is None:
        return None
    flags = sorted(f.type.kind for f in payload.fields if not f.type.inline)
    return {"struct": struct.removeprefix("struct ") if struct else None, "size": payload.size,
            "flags": flags, "fields": [field_json(f) for f in payload.fields]}


def message_json(msg):
    return {"name": msg.name, "full_name": msg.full_name, "id": msg.id,
            "kind": "oneway" if msg.oneway else "call", "type": msg.type,
            "reply_type": msg.reply_type, "doc": "\n".join(msg.doc), "errors": msg.errors,
            "request": payload_json(msg.args, msg.req_struct),
            "reply": payload_json(msg.results, msg.rep_struct)}


def emit_json(interfaces, errors, sources):
    model = {
        "generated": generated_note(sources),
        "format": JSON_FORMAT,
        "message": {"size": MSG_SIZE, "header_size": MSG_HEADER_SIZE, "inline_max": MSG_INLINE_MAX,
                    "len_mask": 0x7ff, "reply_flag": MSG_REPLY_FLAG, "type_shift": 16,
                    "flags": {"page": 1 << 11, "channel": 1 << 12, "error": 1 << 13}},
        "errors": [{"name": e.name, "code": e.code, "desc": e.desc} for e in errors],
        "interfaces": [{"name": i.name, "id": i.id, "source": i.source, "doc": "\n".join(i.doc),
                        "messages": [message_json(m) for m in i.messages]} for i in interfaces],
    }
    return json.dumps(model, indent=2) + "\n"


# ---------------------------------------------------------------------------
# Wireshark message table (tools/wireshark/fumi_messages.lua)
# ---------------------------------------------------------------------------

LUA_INTRO = """\
-- The Fumi message table for the Wireshark dissector tools/wireshark/fumi.lua
-- (docs/tracing.md): interfaces by id, messages by request type (a reply is
-- the request type | header.reply_flag), their request and reply fields, the
-- error names by code and the message header constants of
-- libs/common/message.h. Field offsets are from the start of the inline
-- payload (message offset header.header_size); a bytes field is a u16
-- length at offset and n data bytes at data_offset; channel and page fields
-- travel in the message header (header_offset)."""


def lua_str(text):
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def lua_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return lua_str(value)
    return str(value)


def lua_field(f):
    """One field as a Lua table on one line: name, kind, type, offset, size, n, signed..."""
    t = f.type
    items = [("name", f.name), ("kind", t.kind), ("type", t.spelling)]
    if t.kind == "channel":
        items += [("header_offset", HEADER_CHANNEL_OFFSET), ("size", 4)]
    elif t.kind == "page":
        items += [("header_offset", HEADER_PAGE_OFFSET), ("size", 16)]
    else:
        items += [("offset", f.offset), ("size", t.size)]
    if t.n:
        items.append(("n", t.n))
    if t.kind == "bytes":
        items.append(("data_offset", f.offset + 2))
    if t.kind == "int":
        items.append(("signed", t.spelling.startswith("i")))
    return "{ " + ", ".join(f"{k} = {lua_value(v)}" for k, v in items) + " }"


def lua_payload(key, payload):
    flags = ", ".join(lua_str(k) for k in sorted(f.type.kind for f in payload.fields
                                                 if not f.type.inline))
    flags = f"{{ {flags} }}" if flags else "{}"
    lines = [f"      {key} = {{", f"        size = {payload.size}, flags = {flags},"]
    if payload.fields:
        lines.append("        fields = {")
        lines += [f"          {lua_field(f)}," for f in payload.fields]
        lines.append("        },")
    else:
        lines.append("        fields = {},")
    return lines + ["      },"]


def lua_message(msg):
    kind = lua_str("oneway" if msg.oneway else "call")
    lines = [f"    [{hex_type(msg.type)}] = {{",
             f"      name = {lua_str(msg.full_name)}, kind = {kind}, iface = {msg.iface_id}, "
             f"method = {msg.id},"]
    if msg.errors:
        lines.append("      errors = { " + ", ".join(lua_str(e) for e in msg.errors) + " },")
    lines += lua_payload("request", msg.args)
    if msg.results is not None:
        lines += lua_payload("reply", msg.results)
    return lines + ["    },"]


def emit_lua(interfaces, errors, sources):
    lines = [f"-- {generated_note(sources)}", LUA_INTRO, "return {", "  header = {",
             f"    size = {MSG_SIZE}, header_size = {MSG_HEADER_SIZE}, "
             f"inline_max = {MSG_INLINE_MAX},",
             "    len_mask = 0x7ff, page_bit = 0x800, channel_bit = 0x1000, error_bit = 0x2000,",
             f"    type_shift = 16, reply_flag = 0x{MSG_REPLY_FLAG:02x}, notification_type = 0,",
             f"    from_offset = 4, notifications_offset = 8, "
             f"channel_offset = {HEADER_CHANNEL_OFFSET},",
             f"    page_addr_offset = {HEADER_PAGE_OFFSET}, page_len_offset = 24,",
             "  },", "  interfaces = {"]
    lines += [f"    [{i.id}] = {lua_str(i.name)}," for i in interfaces]
    lines += ["  },", "  errors = {"]
    lines += [f"    [{e.code}] = {{ name = {lua_str(e.name)}, desc = {lua_str(e.desc)} }},"
              for e in errors]
    lines += ["  },", "  messages = {"]
    for iface in interfaces:
        lines.append(f"    -- {iface.name} ({iface.source})")
        for msg in iface.messages:
            lines += lua_message(msg)
    return "\n".join(lines + ["  },", "}"]) + "\n"


# ---------------------------------------------------------------------------
# docs/messages.md
# ---------------------------------------------------------------------------

DOCS_INTRO = """\
# Message reference

Every message of Fumi, generated from `interfaces/*.idl` by `tools/genidl.py`
(DESIGN.md, "Messages" and "Interfaces (IDL)"). A message is 256 bytes: a
32-byte header and up to 224 bytes of inline payload.

| offset | size | field |
|---|---|---|
| 0 | 4 | header: bits 0–10 inline length, bit 11 page payload present, bit 12 channel payload present, bit 13 error reply, bits 16–31 message type |
| 4 | 4 | from: the receiver-side cid the message arrived on |
| 8 | 4 | notification bits (when the message is a notification) |
| 12 | 4 | channel payload (a cid of the sender, moved to the receiver) |
| 16 | 8 | page payload address (page-aligned, in the sender's space) |
| 24 | 8 | page payload length in bytes (a multiple of 4 KiB) |
| 32 | 224 | inline payload: the fields of the message type |

A message type is `interface id << 8 | method id` (method 1–127); its reply
has the same type with bit 7 (`0x80`) set. Type 0 is a notification. An
error reply also sets header bit 13 and carries the negative `ERR_*` code as
an `i32` at inline offset 0; any call can fail with `ERR_BAD_MESSAGE` (a
malformed request) or `ERR_NOT_SUPPORTED` (no handler) besides the errors
listed for it.

Inline fields are laid out in declaration order with natural C alignment;
the struct is padded to its widest member. Offsets below are from the start
of the inline payload (message offset 32).

| IDL type | inline C | size, alignment | C argument / result |
|---|---|---|---|
| `u8`…`u64`, `i8`…`i64` | `uint8_t`…`int64_t` | 1–8, natural | by value / pointer |
| `string[N]` | `char name[N]`, NUL-terminated | N, 1 | `const char *` / `char *` (N bytes) |
| `bytes[N]` | `uint16_t name_len; uint8_t name[N];` | N + 2, 2 | `const void *, size_t` / `void *, size_t *` |
| `channel` | header offset 12 (bit 12) | — | `cid_t` / `cid_t *` |
| `page` | header offsets 16, 24 (bit 11) | — | `uint64_t name_addr, name_len` / pointers |
"""


def md_doc(lines):
    return "\n".join(lines) + "\n\n" if lines else ""


def md_field_rows(f):
    t = f.type
    if t.kind == "channel":
        return [f"| `{f.name}` | channel | header 12 | 4 |"]
    if t.kind == "page":
        return [f"| `{f.name}` | page | header 16 (address), 24 (length) | 16 |"]
    if t.kind == "bytes":
        return [f"| `{f.name}_len` | u16 (length of `{f.name}`) | {f.offset} | 2 |",
                f"| `{f.name}` | {t.spelling} | {f.offset + 2} | {t.n} |"]
    return [f"| `{f.name}` | {t.spelling} | {f.offset} | {t.size} |"]


def md_payload(title, payload):
    if not payload.fields:
        return f"{title}: empty.\n\n"
    rows = [row for f in payload.fields for row in md_field_rows(f)]
    size = f"{payload.size} inline bytes" if payload.size else "header only"
    return (f"{title} ({size}):\n\n| field | type | offset | size |\n"
            "|---|---|---|---|\n" + "\n".join(rows) + "\n\n")


def md_message(msg):
    types = f"request `{hex_type(msg.type)}`"
    if not msg.oneway:
        types += f", reply `{hex_type(msg.reply_type)}`"
    text = (f"### {msg.full_name}\n\n{'oneway' if msg.oneway else 'call'} {msg.id}: {types}\n\n"
            + md_doc(msg.doc) + md_payload("Request", msg.args))
    if msg.oneway:
        text += "No reply.\n\n"
    else:
        text += md_payload("Reply", msg.results)
    if msg.errors:
        text += "Errors: " + ", ".join(f"`{e}`" for e in msg.errors) + ".\n\n"
    return text


def emit_docs(interfaces, sources):
    text = f"<!-- {generated_note(sources)} -->\n" + DOCS_INTRO + "\n## Interfaces\n\n"
    text += "| id | interface | messages |\n|---|---|---|\n"
    text += "".join(f"| {i.id} | [{i.name}](#{i.name}) | {len(i.messages)} |\n" for i in interfaces)
    text += "\n"
    for iface in interfaces:
        text += f"## {iface.name}\n\nInterface {iface.id}, `{iface.source}`.\n\n"
        text += md_doc(iface.doc)
        text += "".join(md_message(msg) for msg in iface.messages)
    return text.rstrip("\n") + "\n"


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def source_summary(interfaces):
    """The sources named in the banner of a file made from all of them."""
    dirs = sorted({os.path.dirname(i.source) or "." for i in interfaces})
    return "the .idl files in " + ", ".join(d + "/" for d in dirs)


def generate(interfaces, errors, out, docs=None, lua=None):
    sources = source_summary(interfaces)
    outputs = {os.path.join(out, "idl", f"{i.name}.h"): emit_iface_h(i) for i in interfaces}
    outputs[os.path.join(out, "idl.h")] = emit_idl_h(interfaces, sources)
    outputs[os.path.join(out, "idl_server.c")] = emit_idl_server_c(interfaces, sources)
    outputs[os.path.join(out, "idl_client.c")] = emit_idl_client_c(interfaces, sources)
    outputs[os.path.join(out, "idl_names.c")] = emit_idl_names_c(interfaces, sources)
    outputs[os.path.join(out, "idl.json")] = emit_json(interfaces, errors, sources)
    if docs:
        outputs[docs] = emit_docs(interfaces, sources)
    if lua:
        outputs[lua] = emit_lua(interfaces, errors, sources)
    for path, text in outputs.items():
        write_if_changed(path, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Compile Fumi IDL files into C, JSON and docs.")
    parser.add_argument("--out", required=True, help="output directory (e.g. build/gen)")
    parser.add_argument("--docs", help="also write the message reference here")
    parser.add_argument("--lua", help="also write the Wireshark message table here")
    parser.add_argument("idl", nargs="+", help="the .idl files")
    args = parser.parse_args(argv)
    errors = load_errors()
    try:
        interfaces = parse_files(args.idl, {e.name for e in errors})
    except IdlError as e:
        print(e, file=sys.stderr)
        return 1
    generate(interfaces, errors, args.out, args.docs, args.lua)
    return 0


if __name__ == "__main__":
    sys.exit(main())
