#!/usr/bin/env python3
"""Host tests of tools/genidl.py, the IDL compiler.

- every kind of bad IDL is rejected with file:line and exit status 1;
- the layout of tests/host/idl_fixture/fixture.idl (every type, padding,
  bytes, header payloads) is what GCC does;
- a C round trip: the fixture's generated code is compiled with ASan/UBSan
  together with idl_fixture/test_idl.c, which drives client wrappers through
  the dispatcher and feeds it malformed requests;
- the real interfaces/ generate, compile with -Werror (freestanding where
  required) and docs/messages.md is up to date;
- the Wireshark message table (--lua) agrees with idl.json field by field,
  for the fixture and the real interfaces, and the committed
  tools/wireshark/fumi_messages.lua is up to date.

Run from the repository root:  python3 -m unittest tests.host.test_genidl
                           or:  python3 tests/host/test_genidl.py
"""

import glob
import importlib.util
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENIDL = os.path.join(ROOT, "tools", "genidl.py")
FIXTURE_DIR = os.path.join(ROOT, "tests", "host", "idl_fixture")
FIXTURE_IDL = os.path.join(FIXTURE_DIR, "fixture.idl")
INTERFACES = sorted(glob.glob(os.path.join(ROOT, "interfaces", "*.idl")))
DOCS = os.path.join(ROOT, "docs", "messages.md")
LUA_TABLE = os.path.join(ROOT, "tools", "wireshark", "fumi_messages.lua")
LIBS = os.path.join(ROOT, "libs")
CFLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror"]
HAVE_GCC = shutil.which("gcc") is not None


def load_genidl():
    spec = importlib.util.spec_from_file_location("genidl", GENIDL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


genidl = load_genidl()


def run_genidl(*args):
    return subprocess.run([sys.executable, GENIDL, *args], capture_output=True, text=True)


def generate(out, idl_files, docs=None, lua=None):
    """Run genidl into out; fail loudly if it does not succeed."""
    result = run_genidl("--out", out, *(["--docs", docs] if docs else []),
                        *(["--lua", lua] if lua else []), *idl_files)
    if result.returncode != 0:
        raise AssertionError(f"genidl failed: {result.stderr}")


def gcc(*args):
    result = subprocess.run(["gcc", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"gcc {' '.join(args)}\n{result.stderr}")


def include_flags(gen_dir):
    """The fake user/user.h first, then the generated headers, then libs/ for <common/...>."""
    return [f"-I{FIXTURE_DIR}", f"-I{gen_dir}", f"-I{LIBS}"]


class LuaTableParser:
    """Reads the Lua table literal genidl writes (return { ... }) into Python values:
    a table with keys becomes a dict, one without keys a list."""

    TOKEN = re.compile(r"""\s+ | --[^\n]*
                           | (?P<str>"(?:[^"\\]|\\.)*")
                           | (?P<num>-?(?:0x[0-9a-fA-F]+|\d+))
                           | (?P<name>[A-Za-z_]\w*)
                           | (?P<op>[{}\[\]=,])""", re.VERBOSE)

    def __init__(self, text):
        self.tokens, pos = [], 0
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if not m:
                raise ValueError(f"bad Lua at {pos}: {text[pos:pos + 20]!r}")
            pos = m.end()
            if m.lastgroup:
                self.tokens.append((m.lastgroup, m.group(m.lastgroup)))
        self.i = 0

    def next(self, want=None):
        kind, value = self.tokens[self.i]
        if want and value != want:
            raise ValueError(f"expected {want}, got {value}")
        self.i += 1
        return kind, value

    def peek(self, ahead=0):
        return self.tokens[self.i + ahead][1] if self.i + ahead < len(self.tokens) else None

    def parse(self):
        self.next("return")
        value = self.value()
        if self.i != len(self.tokens):
            raise ValueError("text after the table")
        return value

    def value(self):
        if self.peek() == "{":
            return self.table()
        kind, text = self.next()
        if kind == "str":
            return json.loads(text)
        if kind == "num":
            return int(text, 0)
        if text in ("true", "false"):
            return text == "true"
        raise ValueError(f"unexpected {text}")

    def table(self):
        self.next("{")
        keyed, items = {}, []
        while self.peek() != "}":
            if self.peek() == "[":
                self.next("[")
                key = self.value()
                self.next("]")
                self.next("=")
                keyed[key] = self.value()
            elif self.peek(1) == "=":
                key = self.next()[1]
                self.next("=")
                keyed[key] = self.value()
            else:
                items.append(self.value())
            if self.peek() != "}":
                self.next(",")
        self.next("}")
        if keyed and items:
            raise ValueError("a table mixes keys and a list")
        return keyed if keyed else items  # {} reads as an empty list


def load_lua_table(path):
    with open(path) as f:
        return LuaTableParser(f.read()).parse()


def lua_field_from_json(f):
    """What the Lua table says of one field of idl.json."""
    out = {"name": f["name"], "kind": f["kind"], "type": f["type"], "size": f["size"]}
    for key in ("offset", "n", "data_offset", "header_offset", "signed"):
        if f.get(key) is not None:
            out[key] = f[key]
    return out


def lua_payload_from_json(p):
    return {"size": p["size"], "flags": p["flags"],
            "fields": [lua_field_from_json(f) for f in p["fields"]]}


def check_lua_matches_json(test, lua, model):
    """The Lua table holds the same interfaces, messages, fields and errors as idl.json."""
    test.assertEqual(lua["interfaces"], {i["id"]: i["name"] for i in model["interfaces"]})
    test.assertEqual(lua["errors"], {e["code"]: {"name": e["name"], "desc": e["desc"]}
                                     for e in model["errors"]})
    header = model["message"]
    test.assertEqual({k: lua["header"][k] for k in ("size", "header_size", "inline_max",
                                                     "len_mask", "type_shift", "reply_flag")},
                     {k: header[k] for k in ("size", "header_size", "inline_max", "len_mask",
                                             "type_shift", "reply_flag")})
    test.assertEqual((lua["header"]["page_bit"], lua["header"]["channel_bit"],
                      lua["header"]["error_bit"]),
                     (header["flags"]["page"], header["flags"]["channel"],
                      header["flags"]["error"]))
    messages = [m for i in model["interfaces"] for m in i["messages"]]
    test.assertEqual(sorted(lua["messages"]), sorted(m["type"] for m in messages))
    for m in messages:
        with test.subTest(m["full_name"]):
            entry = lua["messages"][m["type"]]
            test.assertEqual((entry["name"], entry["kind"], entry["method"]),
                             (m["full_name"], m["kind"], m["id"]))
            test.assertEqual(entry.get("errors", []), m["errors"])
            test.assertEqual(entry["request"], lua_payload_from_json(m["request"]))
            if m["reply"] is None:
                test.assertNotIn("reply", entry)
            else:
                test.assertEqual(entry["reply"], lua_payload_from_json(m["reply"]))


# Each case: IDL text (after "interface demo 9"), the line of the error and a part of its message.
BAD_IDL = {
    "unknown type": ("call a 1 (x: u128) -> ()", 2, "unknown type 'u128'"),
    "string without size": ("call a 1 (s: string) -> ()", 2, "unknown type 'string'"),
    "zero size": ("call a 1 (b: bytes[0]) -> ()", 2, "size of bytes 0"),
    "duplicate id": ("call a 1 () -> ()\ncall b 1 () -> ()", 3, "duplicate message id 1"),
    "duplicate name": ("call a 1 () -> ()\noneway a 2 ()", 3, "duplicate message name 'a'"),
    "duplicate field": ("call a 1 (x: u8, x: u16) -> ()", 2, "duplicate argument name 'x'"),
    "oversize request": ("call a 1 (b: bytes[222], c: u8) -> ()", 2, "226 inline bytes"),
    "oversize reply": ("call a 1 () -> (s: string[200], t: string[25])", 2, "225 inline bytes"),
    "two channels": ("call a 1 (c: channel, d: channel) -> ()", 2, "more than one channel"),
    "two pages": ("call a 1 () -> (p: page, q: page)", 2, "more than one page result"),
    "bad error name": ("call a 1 () -> ()\n    errors NOT_FOUND, NO_SUCH", 3,
                       "unknown error 'NO_SUCH'"),
    "error listed twice": ("call a 1 () -> ()\n    errors IO, IO", 3, "listed twice"),
    "errors not after a message": ("call a 1 () -> ()\n\n    errors IO", 4, "after a message"),
    "missing parenthesis": ("call a 1 (x: u8 -> ()", 2, "expected 'call NAME ID"),
    "oneway with results": ("oneway a 1 () -> ()", 2, "expected 'oneway NAME ID (ARGS)'"),
    "bad field": ("call a 1 (x u8) -> ()", 2, "expected 'argument name: TYPE'"),
    "unknown keyword": ("method a 1 () -> ()", 2, "expected interface, call or oneway"),
    "method id too large": ("call a 128 () -> ()", 2, "message id 128 is not in 1..127"),
    "reserved field name": ("call a 1 (m: u8) -> ()", 2, "'m' is reserved"),
    "C name clash": ("call a 1 (x: bytes[4], x_len: u8) -> ()", 2, "'x_len' would be declared"),
    "C function clash": ("call x 1 () -> ()\ncall x_build 2 () -> ()", 3, "clashes"),
    "second interface": ("call a 1 () -> ()\ninterface other 10", 3, "second interface"),
}


class ParserErrorTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "gen")

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_rejected(self, paths, path, line, message):
        result = run_genidl("--out", self.out, *paths)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertTrue(result.stderr.startswith(f"{path}:{line}: "), result.stderr)
        self.assertIn(message, result.stderr)
        self.assertFalse(os.path.exists(self.out), "nothing is written after an error")

    def test_each_bad_idl_names_file_and_line(self):
        for case, (body, line, message) in BAD_IDL.items():
            with self.subTest(case):
                path = self.write("demo.idl", "interface demo 9\n" + body + "\n")
                self.assert_rejected([path], path, line, message)

    def test_interface_problems(self):
        cases = [("# doc\ninterface Demo 9\n", 2, "expected 'interface NAME ID'"),
                 ("interface demo 256\ncall a 1 () -> ()\n", 1, "id 256 is not in 1..255"),
                 ("call a 1 () -> ()\n", 1, "message before the interface line"),
                 ("# only a comment\n", 1, "no interface declared"),
                 ("interface demo 9\n", 1, "interface has no messages")]
        for text, line, message in cases:
            with self.subTest(message):
                path = self.write("demo.idl", text)
                self.assert_rejected([path], path, line, message)

    def test_duplicate_interface_id_across_files(self):
        first = self.write("a.idl", "interface alpha 9\ncall a 1 () -> ()\n")
        second = self.write("b.idl", "# doc\ninterface beta 9\ncall b 1 () -> ()\n")
        self.assert_rejected([first, second], second, 2, "clashes with alpha 9")

    def test_limits_are_inclusive(self):
        path = self.write("demo.idl", "interface demo 255\ncall a 127 (b: bytes[222]) -> "
                                      "(s: string[224])\noneway int 1 (default: u8)\n")
        self.assertEqual(run_genidl("--out", self.out, path).returncode, 0)


class LayoutTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        names = {e.name for e in genidl.load_errors()}
        (iface,) = genidl.parse_files([FIXTURE_IDL], names)
        cls.messages = {m.name: m for m in iface.messages}

    def layout(self, payload):
        return {f.name: f.offset for f in payload.fields}, payload.size

    def test_integers_are_naturally_aligned(self):
        msg = self.messages["ints"]
        self.assertEqual(self.layout(msg.args), ({"a": 0, "b": 2, "c": 4, "d": 8, "e": 12, "f": 16,
                                                  "g": 24, "h": 28, "k": 32}, 40))
        self.assertEqual(self.layout(msg.results), ({"sum": 0, "a": 8}, 16))  # tail padding

    def test_strings_and_bytes(self):
        msg = self.messages["text"]
        self.assertEqual(self.layout(msg.args), ({"tag": 0, "name": 1, "data": 6, "n": 16}, 20))
        self.assertEqual(self.layout(msg.results), ({"name": 0, "data": 16}, 22))
        data = msg.args.fields[2]
        self.assertEqual([(n, o, s) for _, n, o, s in data.members()],
                         [("data_len", 6, 2), ("data", 8, 7)])

    def test_header_payloads_take_no_inline_bytes(self):
        move, mixed = self.messages["move"], self.messages["mixed"]
        self.assertEqual(self.layout(move.args), ({"ch": None, "pages": None}, 0))
        self.assertEqual(move.args.flags, "MSG_CHANNEL_BIT | MSG_PAGE_BIT")
        self.assertIsNone(move.req_struct)
        self.assertEqual(self.layout(mixed.results), ({"pages": None, "len": 0}, 8))
        self.assertEqual(self.layout(self.messages["note"].args),
                         ({"code": 0, "blob": 4, "pages": None}, 12))

    def test_c_names(self):
        params = genidl.render_params(genidl.message_params(self.messages["ints"]))
        self.assertEqual(params[-2:], ["int64_t *sum", "uint8_t *out_a"])
        self.assertEqual(genidl.ops_member(self.messages["default"]), "default_")


class LuaTableTests(unittest.TestCase):
    """The Wireshark message table of the fixture: every field kind, read back from the Lua."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        gen = os.path.join(cls.tmp.name, "gen")
        cls.lua_path = os.path.join(cls.tmp.name, "fumi_messages.lua")
        generate(gen, [FIXTURE_IDL], lua=cls.lua_path)
        cls.lua = load_lua_table(cls.lua_path)
        with open(os.path.join(gen, "idl.json")) as f:
            cls.model = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_banner(self):
        with open(self.lua_path) as f:
            first = f.readline()
        self.assertTrue(first.startswith("-- generated by tools/genidl.py"), first)
        self.assertIn("do not edit", first)

    def test_matches_the_json_model(self):
        check_lua_matches_json(self, self.lua, self.model)

    def test_every_field_kind(self):
        text = self.lua["messages"][200 << 8 | 2]
        self.assertEqual(text["name"], "fixture.text")
        self.assertEqual(text["errors"], ["ERR_NOT_FOUND", "ERR_TOO_LARGE"])
        self.assertEqual(text["request"]["fields"][2],
                         {"name": "data", "kind": "bytes", "type": "bytes[7]", "offset": 6,
                          "size": 9, "n": 7, "data_offset": 8})
        self.assertEqual(text["reply"]["fields"][0],
                         {"name": "name", "kind": "string", "type": "string[16]", "offset": 0,
                          "size": 16, "n": 16})
        ints = self.lua["messages"][200 << 8 | 1]["request"]["fields"]
        self.assertEqual([(f["name"], f["offset"], f["size"], f["signed"]) for f in ints],
                         [("a", 0, 1, False), ("b", 2, 2, False), ("c", 4, 1, False),
                          ("d", 8, 4, False), ("e", 12, 1, True), ("f", 16, 8, False),
                          ("g", 24, 2, True), ("h", 28, 4, True), ("k", 32, 8, True)])
        move = self.lua["messages"][200 << 8 | 3]["request"]
        self.assertEqual(move["flags"], ["channel", "page"])
        self.assertEqual(move["fields"],
                         [{"name": "ch", "kind": "channel", "type": "channel",
                           "header_offset": 12, "size": 4},
                          {"name": "pages", "kind": "page", "type": "page",
                           "header_offset": 16, "size": 16}])
        note = self.lua["messages"][200 << 8 | 8]
        self.assertEqual(note["kind"], "oneway")
        self.assertNotIn("reply", note)
        self.assertEqual(self.lua["interfaces"], {200: "fixture"})
        self.assertEqual(self.lua["errors"][-8]["name"], "ERR_NOT_FOUND")


@unittest.skipUnless(HAVE_GCC, "needs gcc")
class FixtureRoundTripTests(unittest.TestCase):
    def test_generated_c_round_trip(self):
        with tempfile.TemporaryDirectory() as tmp:
            gen = os.path.join(tmp, "gen")
            generate(gen, [FIXTURE_IDL])
            program = os.path.join(tmp, "test_idl")
            gcc(*CFLAGS, "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                *include_flags(gen), "-o", program, os.path.join(FIXTURE_DIR, "test_idl.c"),
                *(os.path.join(gen, f) for f in ("idl_server.c", "idl_names.c", "idl_client.c")),
                os.path.join(LIBS, "common", "error.c"))
            env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
            result = subprocess.run([program], capture_output=True, text=True, env=env)
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            self.assertRegex(result.stdout, r"\b[1-9]\d* checks, 0 failed")


class RealInterfacesTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.gen = os.path.join(cls.tmp.name, "gen")
        cls.docs = os.path.join(cls.tmp.name, "messages.md")
        cls.lua = os.path.join(cls.tmp.name, "fumi_messages.lua")
        generate(cls.gen, INTERFACES, cls.docs, cls.lua)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_output_exists(self):
        names = {os.path.basename(p)[:-4] for p in INTERFACES}
        headers = {f[:-2] for f in os.listdir(os.path.join(self.gen, "idl"))}
        self.assertEqual(headers, names)
        for f in ("idl.h", "idl_server.c", "idl_client.c", "idl_names.c", "idl.json"):
            with open(os.path.join(self.gen, f)) as text:
                self.assertIn("generated by tools/genidl.py", text.read(200))

    def test_docs_are_up_to_date(self):
        with open(self.docs) as fresh, open(DOCS) as committed:
            self.assertEqual(fresh.read(), committed.read(),
                             "regenerate: python3 tools/genidl.py --out build/gen "
                             "--docs docs/messages.md interfaces/*.idl")

    def test_lua_table_is_up_to_date(self):
        with open(self.lua) as fresh, open(LUA_TABLE) as committed:
            self.assertEqual(fresh.read(), committed.read(),
                             "regenerate: python3 tools/genidl.py --out build/gen "
                             "--lua tools/wireshark/fumi_messages.lua interfaces/*.idl")

    def test_lua_table_matches_the_json_model(self):
        with open(os.path.join(self.gen, "idl.json")) as f:
            model = json.load(f)
        lua = load_lua_table(self.lua)
        check_lua_matches_json(self, lua, model)
        write = lua["messages"][0x0501]
        self.assertEqual(write["name"], "console.write")
        self.assertEqual(write["request"]["fields"][0]["data_offset"], 2)

    def test_json_model_is_complete(self):
        with open(os.path.join(self.gen, "idl.json")) as f:
            model = json.load(f)
        kernel = next(i for i in model["interfaces"] if i["name"] == "kernel")
        create = next(m for m in kernel["messages"] if m["name"] == "create_process")
        self.assertEqual((create["type"], create["reply_type"]), (0x0101, 0x0181))
        name, pager = create["request"]["fields"]
        self.assertEqual((name["kind"], name["offset"], name["size"], name["n"]),
                         ("string", 0, 32, 32))
        self.assertEqual((pager["kind"], pager["offset"], pager["header_offset"]),
                         ("channel", None, 12))
        self.assertEqual(create["errors"],
                         ["ERR_NO_RESOURCES", "ERR_INVALID_ARG", "ERR_NOT_PERMITTED"])
        exited = next(m for i in model["interfaces"] for m in i["messages"]
                      if m["full_name"] == "pager.exited")
        self.assertIsNone(exited["reply"])
        self.assertIn({"name": "ERR_NOT_FOUND", "code": -8, "desc": "no such object"},
                      model["errors"])

    @unittest.skipUnless(HAVE_GCC, "needs gcc")
    def test_generated_c_compiles_with_werror(self):
        for f in ("idl_server.c", "idl_names.c", "idl_client.c"):
            with self.subTest(f):
                gcc(*CFLAGS, *include_flags(self.gen), "-fsyntax-only", os.path.join(self.gen, f))

    @unittest.skipUnless(HAVE_GCC, "needs gcc")
    def test_freestanding_files_need_no_library(self):
        for f in ("idl_server.c", "idl_names.c"):
            with self.subTest(f):
                obj = os.path.join(self.tmp.name, f + ".o")
                gcc(*CFLAGS, "-ffreestanding", "-O2", "-mno-red-zone", f"-I{self.gen}", f"-I{LIBS}",
                    "-c", "-o", obj, os.path.join(self.gen, f))
                undefined = subprocess.run(["nm", "-u", obj], capture_output=True, text=True).stdout
                self.assertEqual(set(undefined.split()) - {"U", "memcpy", "memset"}, set())

    def test_unchanged_outputs_keep_their_mtime(self):
        paths = [os.path.join(d, f) for d, _, files in os.walk(self.gen) for f in files]
        for path in paths:
            os.utime(path, ns=(0, 0))
        generate(self.gen, INTERFACES)
        self.assertEqual([p for p in paths if os.stat(p).st_mtime_ns != 0], [])


if __name__ == "__main__":
    unittest.main()
