"""Hostile and honest solutions for the judge, shared by the Docker and the local red-team tests.

Each case is (solution, tests, helpers, entry point). Hostile ones must fail every test they
could only pass by cheating; honest ones must pass every test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ADD_TESTS = ["assert add(1, 2) == 3\n", "assert add(20, 22) == 42\n", "assert add(-5, 7) == 2\n"]


@dataclass(frozen=True)
class Case:
    solution: str
    tests: list[str] = field(default_factory=lambda: list(ADD_TESTS))
    helpers: str = ""
    entry_point: str | None = "add"


HOSTILE: dict[str, Case] = {
    "eq_always_true": Case(
        "class Yes:\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = object.__hash__\n"
        "def add(a, b):\n    return Yes()\n"
    ),
    "int_subclass_eq": Case(
        "class Liar(int):\n    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n    __hash__ = int.__hash__\n"
        "def add(a, b):\n    return Liar(0)\n"
    ),
    "float_subclass_eq": Case(
        "class Liar(float):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = float.__hash__\n"
        "def add(a, b):\n    return Liar(0.5)\n"
    ),
    "list_subclass_eq": Case(
        "class Liar(list):\n    def __eq__(self, other):\n        return True\n"
        "def add(a, b):\n    return Liar()\n"
    ),
    # Looks for the assert texts anywhere in its own process: objects and raw memory.
    "reads_tests_from_memory": Case(
        "import gc, re\n"
        "TABLE = {}\n"
        "def _learn(text):\n"
        "    for a, b, want in re.findall(r'add\\((-?\\d+), (-?\\d+)\\) == (-?\\d+)', text):\n"
        "        TABLE[(int(a), int(b))] = int(want)\n"
        "for obj in gc.get_objects():\n"
        "    for item in (obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()):\n"
        "        if isinstance(item, str) and 'add(' in item:\n"
        "            _learn(item)\n"
        "import ctypes\n"
        "ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)\n"  # dumpable again: /proc/self/mem readable
        "with open('/proc/self/maps') as maps:\n"
        "    regions = [line.split() for line in maps]\n"
        "with open('/proc/self/mem', 'rb') as mem:\n"
        "    for parts in regions:\n"
        "        if 'r' not in parts[1] or (len(parts) > 5 and parts[5].startswith('[v')):\n"
        "            continue\n"
        "        lo, hi = (int(x, 16) for x in parts[0].split('-'))\n"
        "        if hi - lo > 1 << 28:\n"
        "            continue\n"
        "        try:\n"
        "            mem.seek(lo)\n"
        "            _learn(mem.read(hi - lo).decode('latin-1'))\n"
        "        except (OSError, ValueError, OverflowError):\n"
        "            pass\n"
        "def add(a, b):\n    return TABLE.get((a, b), 0)\n"
    ),
    # Replaces what it can of the harness in its own process: the judge module, builtins.
    "patches_the_harness": Case(
        "import builtins, sys\n"
        "for name, mod in list(sys.modules.items()):\n"
        "    if 'judge' in name or 'codec' in name:\n"
        "        for attr in ('run_tests', 'main', 'describe_exception', 'solution_exception'):\n"
        "            if hasattr(mod, attr):\n"
        "                setattr(mod, attr, lambda *a, **k: None)\n"
        "        if hasattr(mod, 'Report'):\n"
        "            mod.Report.write = lambda self, record: None\n"
        "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
        "builtins.abs = lambda x: 0\n"
        "def add(a, b):\n    return 0\n"
    ),
    "prints_forged_records": Case(
        "import json, sys\n"
        "for i in range(3):\n"
        "    print(json.dumps({'test': i, 'passed': True, 'error': None}))\n"
        "    print('@@ponder-0000@@' + json.dumps({'test': i, 'error': None}))\n"
        "print(json.dumps({'nonce': '0' * 32}))\n"
        "print('@@ponder-0000@@{\"load\": {}}')\n"
        "sys.stdout.flush()\n"
        "def add(a, b):\n"
        "    print(json.dumps({'test': 0, 'passed': True}))\n"
        "    return 0\n"
    ),
    "exits_at_load": Case("import os\nos._exit(0)\ndef add(a, b):\n    return a + b\n"),
    "os_exit_in_call": Case("import os\ndef add(a, b):\n    os._exit(0)\n"),
    "sys_exit_in_call": Case("import sys\ndef add(a, b):\n    sys.exit(0)\n"),
    "kills_the_judge": Case(
        "import os, signal\ndef add(a, b):\n    os.kill(os.getppid(), signal.SIGKILL)\n    return a + b\n"
    ),
    "stops_the_judge": Case(
        "import os, signal\ndef add(a, b):\n    os.kill(os.getppid(), signal.SIGSTOP)\n    return a + b\n"
    ),
    "signals_the_judge": Case(
        "import os, signal\n"
        "def add(a, b):\n"
        "    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGALRM):\n"
        "        os.kill(os.getppid(), sig)\n"
        "    return 0\n"
    ),
    "kills_everything": Case(
        "import os, signal\ndef add(a, b):\n    os.kill(-1, signal.SIGKILL)\n"
    ),
    "endless_recursion": Case("def add(a, b):\n    return add(a, b)\n"),
    "endless_loop": Case("def add(a, b):\n    while True:\n        pass\n"),
    "hangs_at_load": Case("import time\ntime.sleep(60)\ndef add(a, b):\n    return a + b\n"),
    "returns_a_generator": Case("def add(a, b):\n    yield a + b\n"),
    "returns_a_function": Case("def add(a, b):\n    return lambda: a + b\n"),
    "endless_generator": Case("import itertools\ndef add(a, b):\n    return itertools.count()\n"),
    "self_referencing_list": Case("def add(a, b):\n    x = []\n    x.append(x)\n    return x\n"),
    "stdout_flood": Case(
        "import os\ndef add(a, b):\n    while True:\n        os.write(1, b'x' * 65536)\n"
    ),
    "print_flood": Case("def add(a, b):\n    while True:\n        print('x' * 10000)\n"),
    "raises_stop_iteration": Case(
        "def is_even(n):\n    raise StopIteration\n",
        tests=["assert all(map(is_even, [2, 4, 5]))\n"],
        entry_point="is_even",
    ),
    "raises_system_exit_in_expected_error_test": Case(
        "def check_positive(n):\n    raise SystemExit(0)\n",
        tests=[
            "try:\n    check_positive(-1)\nexcept Exception:\n    pass\nelse:\n    raise AssertionError\n"
            "assert check_positive(3) is True\n"
        ],
        entry_point="check_positive",
    ),
    "shadows_builtins": Case(
        "def abs(x):\n    return 0\ndef isinstance(a, b):\n    return True\n"
        "def add(a, b):\n    return 99.0\n",
        tests=["assert abs(add(0.1, 0.2) - 0.3) < 1e-9\n", "assert isinstance(add(1, 1), str)\n"],
    ),
    "redefines_prompt_helper": Case(
        "def encode_cyclic(s):\n    return s\ndef decode_cyclic(s):\n    return s\n",
        tests=[
            "def check(candidate):\n    for s in ['abcdef', 'hello world', 'xy']:\n"
            "        assert candidate(encode_cyclic(s)) == s\ncheck(decode_cyclic)\n"
        ],
        helpers=(
            "def encode_cyclic(s: str):\n"
            '    """returns encoded string by cycling groups of three characters."""\n'
            "    groups = [s[(3 * i):min((3 * i + 3), len(s))] for i in range((len(s) + 2) // 3)]\n"
            "    groups = [(group[1:] + group[0]) if len(group) == 3 else group for group in groups]\n"
            '    return "".join(groups)\n\n\n'
            "def decode_cyclic(s: str):\n"
            '    """takes as input string encoded with encode_cyclic function."""\n'
        ),
        entry_point="decode_cyclic",
    ),
    "swallowed_fault_still_fails": Case(
        "import os\ndef add(a, b):\n    os._exit(1)\n",
        tests=["try:\n    add(1, 2)\nexcept BaseException:\n    pass\n"],
    ),
    "malformed_reply": Case(
        "import socket, struct, json\n"
        "def add(a, b):\n"
        "    for fd in range(3, 64):\n"
        "        try:\n"
        "            s = socket.socket(fileno=fd)\n"
        "        except OSError:\n"
        "            continue\n"
        "        body = json.dumps({'ok': {'__eq__': True, 'l': 'x'}}).encode()\n"
        "        s.sendall(struct.pack('>I', len(body)) + body)\n"
        "        body = b'{\"ok\": 3}'\n"
        "        s.sendall(struct.pack('>I', len(body)) + body)\n"
        "        s.detach()\n"
        "    return 0\n"
    ),
    "huge_length_prefix": Case(
        "import socket, struct\n"
        "def add(a, b):\n"
        "    for fd in range(3, 64):\n"
        "        try:\n"
        "            s = socket.socket(fileno=fd)\n"
        "            s.sendall(struct.pack('>I', 0xFFFFFFF0) + b'x' * 100)\n"
        "            s.detach()\n"
        "        except OSError:\n"
        "            continue\n"
        "    return 3\n"
    ),
    "deeply_nested_value": Case(
        "def add(a, b):\n    x = 0\n    for _ in range(10000):\n        x = [x]\n    return x\n"
    ),
}

# Expected behaviour that an honest solution relies on: each must pass all its tests.
HONEST: dict[str, Case] = {
    "plain": Case("def add(a, b):\n    return a + b\n"),
    "main_block_and_prints": Case(
        "print('loading')\ndef add(a, b):\n    print('adding', a, b)\n    return a + b\n"
        "if __name__ == '__main__':\n    input()\n"
    ),
    "dataclass_inside": Case(
        "from __future__ import annotations\nfrom dataclasses import dataclass\n"
        "@dataclass\nclass P:\n    x: int\ndef add(a, b):\n    return P(a).x + b\n"
    ),
    "types_cross_exactly": Case(
        "import collections, math\n"
        "def f(kind):\n"
        "    return {\n"
        "        'tuple': (1, [2, 3]), 'list': [1, (2, 3)], 'set': {1, 2}, 'frozenset': frozenset({3}),\n"
        "        'bytes': b'\\x00\\xff', 'bytearray': bytearray(b'ab'), 'nan': math.nan,\n"
        "        'inf': -math.inf, 'negzero': -0.0, 'big': 2 ** 200 + 1, 'neg_big': -(3 ** 90),\n"
        "        'none': None, 'true': True, 'zero': 0, 'counter': collections.Counter('aab'),\n"
        "        'ordered': collections.OrderedDict(a=1), 'point': collections.namedtuple('P', 'x y')(1, 2),\n"
        "        'nested': {(1, 2): [{'a': {frozenset({1})}}]}, 'complex': 1 + 2j, 'str': 'h\\u00e9\\ud800',\n"
        "        'range': range(1, 10, 2),\n"
        "    }[kind]\n",
        tests=[
            "assert f('tuple') == (1, [2, 3]) and type(f('tuple')) is tuple\n",
            "assert f('list') == [1, (2, 3)] and f('list') != (1, (2, 3))\n",
            "assert f('set') == {1, 2} and type(f('set')) is set\n",
            "assert type(f('frozenset')) is frozenset\n",
            "assert f('bytes') == b'\\x00\\xff' and f('bytearray') == bytearray(b'ab')\n",
            "import math\nassert math.isnan(f('nan')) and f('inf') == -math.inf\n",
            "assert math.copysign(1, f('negzero')) == -1\n",
            "assert f('big') == 2 ** 200 + 1 and f('neg_big') == -(3 ** 90)\n",
            "assert f('none') is None and f('true') is True and f('zero') is not False\n",
            "assert f('counter') == {'a': 2, 'b': 1} and f('ordered') == {'a': 1}\n",
            "assert f('point') == (1, 2)\n",
            "assert f('nested') == {(1, 2): [{'a': {frozenset({1})}}]}\n",
            "assert f('complex') == 1 + 2j and f('str') == 'h\\u00e9\\ud800'\n",
            "assert f('range') == range(1, 10, 2)\n",
        ],
        entry_point="f",
    ),
    "generator_result": Case(
        "def evens(n):\n    return (i for i in range(n) if i % 2 == 0)\n",
        tests=["assert list(evens(7)) == [0, 2, 4, 6]\n", "assert evens(3) != [0, 2]\n"],
        entry_point="evens",
    ),
    "expected_exception": Case(
        "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x ** 0.5\n",
        tests=[
            "try:\n    root(-1)\nexcept ValueError as e:\n    assert 'negative' in str(e)\n"
            "else:\n    raise AssertionError('no error')\n",
            "import math\nassert math.isclose(root(2), 1.41421356, rel_tol=1e-6)\n",
            "assert abs(root(9) - 3) < 1e-9\n",
        ],
        entry_point="root",
    ),
    "prompt_helper_on_judge_side": Case(
        "import math\n"
        "def poly(xs, x):\n    return 12345\n"  # the candidate's own poly is never the tests'
        "def find_zero(xs):\n"
        "    lo, hi = -1e6, 1e6\n"
        "    f = lambda x: sum(c * x ** i for i, c in enumerate(xs))\n"
        "    for _ in range(200):\n"
        "        mid = (lo + hi) / 2\n"
        "        if (f(lo) > 0) == (f(mid) > 0):\n"
        "            lo = mid\n"
        "        else:\n"
        "            hi = mid\n"
        "    return lo\n",
        tests=[
            "def check(candidate):\n    import math\n"
            "    for xs in ([1, 2], [-6, 11, -6, 1]):\n"
            "        assert math.fabs(poly(xs, candidate(xs))) < 1e-4\ncheck(find_zero)\n"
        ],
        helpers=(
            "import math\n\n\ndef poly(xs: list, x: float):\n"
            '    """Evaluates polynomial with coefficients xs at point x."""\n'
            "    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])\n\n\n"
            "def find_zero(xs: list):\n"
            '    """ xs are coefficients of a polynomial. find_zero find x such that poly(x) = 0."""\n'
        ),
        entry_point="find_zero",
    ),
    "deep_but_finite_recursion": Case(
        "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\n",
        tests=["assert depth(800) == 800\n"],
        entry_point="depth",
    ),
    "test_functions_and_import": Case(
        "def add(a, b):\n    return a + b\nclass Helper:\n    pass\n",
        tests=[
            "from solution import add as plus\ndef test_import():\n    assert plus(2, 3) == 5\ntest_import()\n",
            "def test_kwargs():\n    assert add(b=1, a=2) == 3\ntest_kwargs()\n",
        ],
    ),
    "regex_match_result": Case(
        "import re\ndef find(text):\n    return re.search(r'a(b+)', text)\n",
        tests=[
            "assert find('xabb')\n",
            "assert not find('xyz')\n",
            "m = find('zzabbb')\nassert m.span() == (2, 6) and m.group(1) == 'bbb'\n",
        ],
        entry_point="find",
    ),
    "helpers_and_other_functions": Case(
        "def square(x):\n    return x * x\ndef add(a, b):\n    return square(a) - square(a) + a + b\n",
        tests=["assert add(1, 2) == 3\n", "assert square(4) == 16\n"],
    ),
}
