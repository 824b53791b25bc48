"""Print the path of the poller's `bootstrap` that `sam build` produced.

Both functions have the same build definition, so SAM builds the binary once. Where it puts it
depends on SAM's features: each function's folder, or one shared folder (`PollerFunction-Shared`)
when beta features are on. The built template's `CodeUri` says which, so this reads it rather
than guessing, and fails if the two functions were built apart.
"""

import pathlib
import sys

from samcli.yamlhelper import yaml_parse

FUNCTIONS = ("PollerFunction", "LogConsumerFunction")


def main(build_dir: str) -> int:
    root = pathlib.Path(build_dir)
    resources = yaml_parse((root / "template.yaml").read_text())["Resources"]
    uris = {resources[name]["Properties"]["CodeUri"] for name in FUNCTIONS}
    if len(uris) != 1:
        print(f"the functions were built apart: {sorted(uris)}", file=sys.stderr)
        return 1
    bootstrap = root / uris.pop() / "bootstrap"
    if not bootstrap.is_file():
        print(f"{bootstrap} is missing", file=sys.stderr)
        return 1
    print(bootstrap)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
