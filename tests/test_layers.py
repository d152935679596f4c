"""The package's imports flow one way: data → model → config → quality → training → the commands."""

import ast
import glob
import os

from conftest import REPO, run_python

# Each sub-package or top-level module by rank; a module may import only from its own rank or below.
RANKS = {
    **dict.fromkeys(("keras_mdsrgan", "RESOURCES", "errors", "files", "names", "interrupts"), 0),
    "data": 1,
    "model": 2,
    "config": 3,  # the run's settings name the registry's networks and the distillation targets
    "quality": 4,
    "training": 5,
    "cli": 6,  # the command-line edge's helpers
    **dict.fromkeys(("export", "zoo"), 7),
    **dict.fromkeys(("demo", "train", "evaluate", "upscale", "compare", "flagfile"), 8),
}


def _unit(module: str) -> str:
    """keras_mdsrgan.data.imageio -> data; keras_mdsrgan -> keras_mdsrgan."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imports(path: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "keras_mdsrgan":
            base = node.module
            found |= {f"{base}.{a.name}" if base == "keras_mdsrgan" else base for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "keras_mdsrgan"}
    return found


def test_every_import_goes_down_or_sideways():
    upward = []
    for path in glob.glob(os.path.join(REPO, "keras_mdsrgan", "**", "*.py"), recursive=True):
        module = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".").removesuffix(".__init__")
        source = _unit(module)
        assert source in RANKS, f"{module}: a new unit, give it a rank in RANKS"
        for target in map(_unit, _imports(path)):
            if target in RANKS and RANKS[target] > RANKS[source]:
                upward.append(f"{module} imports {target}")
            elif target not in RANKS:
                upward.append(f"{module} imports unknown unit {target}")
    assert not upward, "\n".join(sorted(upward))


def test_commands_import_tensorflow_only_when_they_run():
    """The commands silence TensorFlow's start-up chatter (cli.quiet_tensorflow) so that an error
    stays one line; a module that imports TensorFlow when the command is imported defeats it."""
    for command in ("train", "evaluate", "upscale", "compare", "export", "zoo", "demo.__main__", "flagfile"):
        check = f"import sys, keras_mdsrgan.{command}; print([m for m in ('tensorflow', 'keras') if m in sys.modules])"
        result = run_python("-c", check)
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip() == "[]", command
