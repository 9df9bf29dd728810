#!/usr/bin/env python3
"""Lists session-runtime's public API, one line per item, sorted, in the
style of `cargo public-api`, and checks it against the listing checked in
at `session-runtime/public-api.txt`, so that every change to what users
can name shows up in review as a diff of that file.

    python3 .ci/public_api.py           print the listing
    python3 .ci/public_api.py --write   write it to session-runtime/public-api.txt
    python3 .ci/public_api.py --check   exit 1 with a diff when they differ

`cargo public-api` needs a nightly toolchain; this reads the same rustdoc
JSON, which the pinned stable toolchain writes under `RUSTC_BOOTSTRAP=1`.
The toolchain is pinned in rust-toolchain.toml, so the JSON format is too
(FORMAT_VERSION below); a toolchain bump that changes it fails loudly here
rather than silently listing less.

What is listed: the crate root's public modules and `pub use` re-exports,
followed to the items they name (re-exports of other crates are listed as
the `pub use` itself); structs with their public fields, enums with their
variants, traits with their items, functions, constants, statics, type
aliases; the public items of inherent impls; explicit trait impls (not
auto traits, not other crates' blanket impls), with the associated types
and constants they set. `#[doc(hidden)]` items are left out, and of the
`guide` module, which is prose, only the chapters' names are listed.
"""

import difflib
import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "session-runtime"
CRATE = "session_runtime"
LISTING = REPO / PACKAGE / "public-api.txt"
FORMAT_VERSION = 57

# Modules whose content is prose: their submodules are listed by name only.
PROSE_MODULES = {(CRATE, "guide")}
# What generated code names; hidden from the docs, and so from users.
PRIVATE_MODULES = {"__private"}
# A marker the compiler implements alongside every derived `PartialEq`;
# nobody names it.
SKIPPED_TRAITS = {("core", "marker", "StructuralPartialEq")}


def rustdoc_json() -> dict:
    """Builds the crate's rustdoc JSON with all features and reads it."""
    target_dir = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target_dir.is_absolute():
        target_dir = REPO / target_dir
    command = [
        "cargo", "rustdoc", "-q", "-p", PACKAGE, "--all-features",
        "--", "-Z", "unstable-options", "--output-format", "json",
    ]
    environment = dict(os.environ, RUSTC_BOOTSTRAP="1")
    result = subprocess.run(command, cwd=REPO, env=environment)
    if result.returncode != 0:
        sys.exit(f"public_api: `{' '.join(command)}` failed (exit {result.returncode})")
    path = target_dir / "doc" / f"{CRATE}.json"
    with open(path, encoding="utf-8") as file:
        document = json.load(file)
    if document.get("format_version") != FORMAT_VERSION:
        sys.exit(
            f"public_api: {path} has rustdoc JSON format "
            f"{document.get('format_version')}, this script reads format "
            f"{FORMAT_VERSION}: update it along with rust-toolchain.toml"
        )
    return document


class Lister:
    def __init__(self, document: dict):
        self.index = document["index"]
        self.paths = document["paths"]
        self.root = str(document["root"])
        self.lines: set[str] = set()
        # Every public path an item of this crate is reachable at; types in
        # signatures are named by the shortest of them.
        self.public_paths: dict[str, list[tuple[str, ...]]] = {}
        self.visited: set[tuple[str, tuple[str, ...]]] = set()
        self.listed_impls: set[str] = set()

    # ---- walking ----------------------------------------------------------

    def run(self) -> list[str]:
        # Two passes: the first finds every public path, so that the second
        # renders each type by its final, shortest path whatever the order
        # the walk reaches it in.
        self.walk_module(self.root, (CRATE,), collect_only=True)
        self.visited.clear()
        self.walk_module(self.root, (CRATE,), collect_only=False)
        # `#[non_exhaustive] pub enum X` sorts with `pub enum Y`.
        return sorted(self.lines, key=lambda line: (line.removeprefix(NON_EXHAUSTIVE), line))

    def item(self, item_id) -> dict | None:
        return self.index.get(str(item_id))

    def emit(self, line: str, collect_only: bool) -> None:
        if not collect_only:
            self.lines.add(line)

    def walk_module(self, module_id: str, path: tuple, collect_only: bool) -> None:
        module = self.item(module_id)
        for child_id in module["inner"]["module"]["items"]:
            child = self.item(child_id)
            if child is None or is_hidden(child):
                continue
            if "use" in child["inner"]:
                self.walk_use(child, path, collect_only)
            elif child["name"] is not None:
                self.walk_item(str(child_id), path + (child["name"],), collect_only)

    def walk_use(self, use_item: dict, path: tuple, collect_only: bool) -> None:
        use = use_item["inner"]["use"]
        target = self.item(use["id"]) if use["id"] is not None else None
        if use["is_glob"]:
            if target is not None and "module" in target["inner"]:
                self.walk_module(str(use["id"]), path, collect_only)
            else:
                self.emit(f"pub use {'::'.join(path)}::*  // from {use['source']}", collect_only)
            return
        if target is None:
            # Another crate's item (or a crate) re-exported as a whole.
            kind = self.paths.get(str(use["id"]), {}).get("kind", "item")
            kind = KIND_NAMES.get(kind, kind.replace("_", " "))
            self.emit(
                f"pub use {'::'.join(path + (use['name'],))}  // {kind} {use['source']}",
                collect_only,
            )
            return
        if is_hidden(target):
            return
        self.walk_item(str(use["id"]), path + (use["name"],), collect_only)

    def walk_item(self, item_id: str, path: tuple, collect_only: bool) -> None:
        if (item_id, path) in self.visited:
            return
        self.visited.add((item_id, path))
        item = self.item(item_id)
        kind, inner = next(iter(item["inner"].items()))
        if kind == "module" and path[-1] in PRIVATE_MODULES:
            return
        if item["crate_id"] == 0:
            self.public_paths.setdefault(item_id, []).append(path)
        name = "::".join(path)
        if kind == "module":
            self.emit(f"pub mod {name}", collect_only)
            if path[:-1] in PROSE_MODULES:
                return
            if path in PROSE_MODULES:
                for chapter_id in inner["items"]:
                    chapter = self.item(chapter_id)
                    if chapter and "module" in chapter["inner"] and not is_hidden(chapter):
                        self.emit(f"pub mod {name}::{chapter['name']}", collect_only)
                return
            self.walk_module(item_id, path, collect_only)
            return
        if collect_only:
            return
        if kind == "struct":
            self.list_struct(item, inner, name)
        elif kind == "enum":
            self.list_enum(item, inner, name)
        elif kind == "union":
            self.emit(f"{attributes(item)}pub union {name}{self.generics(inner['generics'])}", False)
            self.list_fields(inner["fields"], name)
            self.list_impls(inner["impls"])
        elif kind == "trait":
            self.list_trait(item, inner, name)
        elif kind == "trait_alias":
            bounds = self.bounds(inner["params"])
            self.emit(f"pub trait {name}{self.generics(inner['generics'])} = {bounds}", False)
        elif kind == "function":
            self.emit(self.function("pub", name, inner), False)
        elif kind == "constant":
            self.emit(f"pub const {name}: {self.type(inner['type'])}", False)
        elif kind == "static":
            mutable = "mut " if inner["is_mutable"] else ""
            unsafe = "unsafe " if inner.get("is_unsafe") else ""
            self.emit(f"pub {unsafe}static {mutable}{name}: {self.type(inner['type'])}", False)
        elif kind == "type_alias":
            generics = self.generics(inner["generics"])
            where = self.where_clause(inner["generics"])
            self.emit(f"pub type {name}{generics} = {self.type(inner['type'])}{where}", False)
        elif kind == "macro":
            self.emit(f"pub macro {name}!", False)
        elif kind == "proc_macro":
            macro_kind = {"bang": "macro", "attr": "attribute macro", "derive": "derive macro"}
            self.emit(f"pub {macro_kind.get(inner['kind'], 'macro')} {name}", False)
        else:
            self.emit(f"pub {kind.replace('_', ' ')} {name}", False)

    # ---- items ------------------------------------------------------------

    def list_struct(self, item: dict, struct: dict, name: str) -> None:
        generics = self.generics(struct["generics"])
        where = self.where_clause(struct["generics"])
        shape = struct["kind"]
        if shape == "unit":
            body = ""
        elif "tuple" in shape:
            body = "(" + ", ".join(self.tuple_field(field) for field in shape["tuple"]) + ")"
        else:
            body = ""
            self.list_fields(shape["plain"]["fields"], name)
        self.emit(f"{attributes(item)}pub struct {name}{generics}{body}{where}", False)
        self.list_impls(struct["impls"])

    def tuple_field(self, field_id) -> str:
        field = self.item(field_id) if field_id is not None else None
        if field is None or field["visibility"] != "public" or is_hidden(field):
            return "_"
        return f"pub {self.type(field['inner']['struct_field'])}"

    def list_fields(self, field_ids: list, owner: str) -> None:
        for field_id in field_ids:
            field = self.item(field_id)
            if field is None or field["visibility"] != "public" or is_hidden(field):
                continue
            field_type = self.type(field["inner"]["struct_field"])
            self.emit(f"pub struct field {owner}::{field['name']}: {field_type}", False)

    def list_enum(self, item: dict, enum: dict, name: str) -> None:
        generics = self.generics(enum["generics"])
        where = self.where_clause(enum["generics"])
        self.emit(f"{attributes(item)}pub enum {name}{generics}{where}", False)
        for variant_id in enum["variants"]:
            variant = self.item(variant_id)
            if variant is None or is_hidden(variant):
                continue
            shape = variant["inner"]["variant"]["kind"]
            if shape == "plain":
                body = ""
            elif "tuple" in shape:
                body = "(" + ", ".join(self.variant_field(f) for f in shape["tuple"]) + ")"
            else:
                fields = [self.variant_field(f, named=True) for f in shape["struct"]["fields"]]
                if shape["struct"]["has_stripped_fields"]:
                    fields.append("..")
                body = " { " + ", ".join(fields) + " }"
            discriminant = variant["inner"]["variant"].get("discriminant")
            if discriminant is not None:
                body += f" = {discriminant['expr']}"
            self.emit(
                f"{attributes(variant)}pub enum variant {name}::{variant['name']}{body}", False
            )
        self.list_impls(enum["impls"])

    def variant_field(self, field_id, named: bool = False) -> str:
        field = self.item(field_id) if field_id is not None else None
        if field is None or is_hidden(field):
            return "_"
        field_type = self.type(field["inner"]["struct_field"])
        return f"{field['name']}: {field_type}" if named else field_type

    def list_trait(self, item: dict, trait: dict, name: str) -> None:
        unsafe = "unsafe " if trait["is_unsafe"] else ""
        auto = "auto " if trait["is_auto"] else ""
        generics = self.generics(trait["generics"])
        supertraits = f": {self.bounds(trait['bounds'])}" if trait["bounds"] else ""
        where = self.where_clause(trait["generics"])
        self.emit(
            f"{attributes(item)}pub {unsafe}{auto}trait {name}{generics}{supertraits}{where}",
            False,
        )
        for member_id in trait["items"]:
            member = self.item(member_id)
            if member is None or is_hidden(member):
                continue
            self.list_associated(member, name, in_trait=True)
        self.list_impls(trait["implementations"])

    def list_associated(self, member: dict, owner: str, in_trait: bool) -> None:
        kind, inner = next(iter(member["inner"].items()))
        name = f"{owner}::{member['name']}"
        if kind == "function":
            self.emit(self.function("pub", name, inner), False)
        elif kind == "assoc_type":
            generics = self.generics(inner["generics"])
            bounds = f": {self.bounds(inner['bounds'])}" if inner["bounds"] else ""
            where = self.where_clause(inner["generics"])
            value = f" = {self.type(inner['type'])}" if inner["type"] is not None else ""
            self.emit(f"pub type {name}{generics}{bounds}{where}{value}", False)
        elif kind == "assoc_const":
            # A trait's default value is an implementation detail; an
            # impl's value is what the user gets.
            value = f" = {inner['value']}" if inner["value"] and not in_trait else ""
            self.emit(f"pub const {name}: {self.type(inner['type'])}{value}", False)
        else:
            self.emit(f"pub {kind.replace('_', ' ')} {name}", False)

    def list_impls(self, impl_ids: list) -> None:
        for impl_id in impl_ids:
            impl_id = str(impl_id)
            if impl_id in self.listed_impls:
                continue
            self.listed_impls.add(impl_id)
            impl_item = self.item(impl_id)
            if impl_item is None or is_hidden(impl_item):
                continue
            impl = impl_item["inner"]["impl"]
            # Auto traits the compiler derives, and other crates' blanket
            # impls (`impl<T> Into<U> for T`), hold for every type alike.
            if impl["is_synthetic"] or impl["blanket_impl"] is not None:
                continue
            trait = impl["trait"]
            if trait is not None and self.canonical(trait["id"]) in SKIPPED_TRAITS:
                continue
            self.list_impl(impl)

    def list_impl(self, impl: dict) -> None:
        generics = self.generics(impl["generics"])
        where = self.where_clause(impl["generics"])
        self_type = self.type(impl["for"])
        unsafe = "unsafe " if impl["is_unsafe"] else ""
        if impl["trait"] is None:
            self.emit(f"impl{generics} {self_type}{where}", False)
            for member_id in impl["items"]:
                member = self.item(member_id)
                if member is None or member["visibility"] != "public" or is_hidden(member):
                    continue
                self.list_associated(member, self_type, in_trait=False)
            return
        negative = "!" if impl["is_negative"] else ""
        trait = self.path(impl["trait"])
        self.emit(f"{unsafe}impl{generics} {negative}{trait} for {self_type}{where}", False)
        # A trait impl's methods have the trait's signatures; what differs
        # per impl is the associated types and constants it sets. A trait
        # of this crate that users cannot name (a sealed one) has nothing
        # they could use.
        trait_id = str(impl["trait"]["id"])
        if self.item(trait_id) is not None and trait_id not in self.public_paths:
            return
        for member_id in impl["items"]:
            member = self.item(member_id)
            if member is None or is_hidden(member) or "function" in member["inner"]:
                continue
            self.list_associated(member, f"<{self_type} as {trait}>", in_trait=False)

    # ---- rendering --------------------------------------------------------

    def canonical(self, item_id) -> tuple:
        """The path a user names an item by: its shortest public path for
        this crate's items, else the path it is defined at."""
        public = self.public_paths.get(str(item_id))
        if public:
            return min(public, key=lambda path: (len(path), path))
        summary = self.paths.get(str(item_id))
        if summary is not None:
            return tuple(summary["path"])
        return ()

    def path(self, path: dict) -> str:
        name = "::".join(self.canonical(path["id"])) if path.get("id") is not None else ""
        if not name:
            name = path["path"].replace("$crate", CRATE)
        return name + self.generic_args(path.get("args"))

    def generic_args(self, args: dict | None) -> str:
        if not args:
            return ""
        if "angle_bracketed" in args:
            angle = args["angle_bracketed"]
            parts = [self.generic_arg(arg) for arg in angle["args"]]
            parts += [self.constraint(constraint) for constraint in angle["constraints"]]
            return f"<{', '.join(parts)}>" if parts else ""
        if "parenthesized" in args:
            parenthesized = args["parenthesized"]
            inputs = ", ".join(self.type(t) for t in parenthesized["inputs"])
            output = parenthesized["output"]
            return f"({inputs})" + (f" -> {self.type(output)}" if output is not None else "")
        if "return_type_notation" in args:
            return "(..)"
        return json.dumps(args, sort_keys=True)

    def generic_arg(self, arg) -> str:
        if arg == "infer":
            return "_"
        if "lifetime" in arg:
            return arg["lifetime"]
        if "type" in arg:
            return self.type(arg["type"])
        if "const" in arg:
            return arg["const"]["expr"]
        return json.dumps(arg, sort_keys=True)

    def constraint(self, constraint: dict) -> str:
        head = constraint["name"] + self.generic_args(constraint.get("args"))
        binding = constraint["binding"]
        if "equality" in binding:
            return f"{head} = {self.term(binding['equality'])}"
        return f"{head}: {self.bounds(binding['constraint'])}"

    def term(self, term: dict) -> str:
        if "type" in term:
            return self.type(term["type"])
        return term["constant"]["expr"]

    def type(self, ty) -> str:
        if ty == "infer":
            return "_"
        kind, value = next(iter(ty.items()))
        if kind == "resolved_path":
            return self.path(value)
        if kind in ("generic", "primitive"):
            return value
        if kind == "borrowed_ref":
            lifetime = f"{value['lifetime']} " if value["lifetime"] else ""
            mutable = "mut " if value["is_mutable"] else ""
            return f"&{lifetime}{mutable}{self.type(value['type'])}"
        if kind == "raw_pointer":
            mutable = "mut" if value["is_mutable"] else "const"
            return f"*{mutable} {self.type(value['type'])}"
        if kind == "tuple":
            if len(value) == 1:
                return f"({self.type(value[0])},)"
            return "(" + ", ".join(self.type(t) for t in value) + ")"
        if kind == "slice":
            return f"[{self.type(value)}]"
        if kind == "array":
            return f"[{self.type(value['type'])}; {value['len']}]"
        if kind == "impl_trait":
            return f"impl {self.bounds(value)}"
        if kind == "dyn_trait":
            parts = [
                self.higher_ranked(poly["generic_params"]) + self.path(poly["trait"])
                for poly in value["traits"]
            ]
            if value.get("lifetime"):
                parts.append(value["lifetime"])
            return "dyn " + " + ".join(parts)
        if kind == "function_pointer":
            header = self.header(value["header"])
            sig = value["sig"]
            inputs = [self.type(t) for _, t in sig["inputs"]]
            if sig["is_c_variadic"]:
                inputs.append("...")
            output = f" -> {self.type(sig['output'])}" if sig["output"] is not None else ""
            hrtb = self.higher_ranked(value["generic_params"])
            return f"{hrtb}{header}fn({', '.join(inputs)}){output}"
        if kind == "qualified_path":
            self_type = self.type(value["self_type"])
            member = value["name"] + self.generic_args(value.get("args"))
            if value["trait"] is None:
                return f"{self_type}::{member}"
            return f"<{self_type} as {self.path(value['trait'])}>::{member}"
        if kind == "pat":
            return self.type(value["type"])
        # Unknown to this script: the raw JSON, which is at least stable.
        return json.dumps(ty, sort_keys=True)

    def header(self, header: dict) -> str:
        text = ""
        if header["is_const"]:
            text += "const "
        if header["is_async"]:
            text += "async "
        if header["is_unsafe"]:
            text += "unsafe "
        abi = header["abi"]
        if abi != "Rust":
            abi_name = next(iter(abi)) if isinstance(abi, dict) else abi
            text += f'extern "{abi_name}" ' if abi_name != "Other" else f"extern {abi} "
        return text

    def higher_ranked(self, params: list) -> str:
        if not params:
            return ""
        return f"for<{', '.join(self.generic_param(p) for p in params)}> "

    def bounds(self, bounds: list) -> str:
        return " + ".join(self.bound(bound) for bound in bounds)

    def bound(self, bound: dict) -> str:
        if "trait_bound" in bound:
            trait_bound = bound["trait_bound"]
            modifier = {"none": "", "maybe": "?", "maybe_const": "~const "}[trait_bound["modifier"]]
            hrtb = self.higher_ranked(trait_bound["generic_params"])
            return f"{hrtb}{modifier}{self.path(trait_bound['trait'])}"
        if "outlives" in bound:
            return bound["outlives"]
        if "use" in bound:
            captured = [next(iter(arg.values())) for arg in bound["use"]]
            return f"use<{', '.join(captured)}>"
        return json.dumps(bound, sort_keys=True)

    def generic_param(self, param: dict) -> str:
        kind, value = next(iter(param["kind"].items()))
        if kind == "lifetime":
            outlives = f": {' + '.join(value['outlives'])}" if value["outlives"] else ""
            return f"{param['name']}{outlives}"
        if kind == "type":
            bounds = f": {self.bounds(value['bounds'])}" if value["bounds"] else ""
            default = f" = {self.type(value['default'])}" if value["default"] is not None else ""
            return f"{param['name']}{bounds}{default}"
        default = f" = {value['default']}" if value.get("default") is not None else ""
        return f"const {param['name']}: {self.type(value['type'])}{default}"

    def generics(self, generics: dict) -> str:
        # `impl Trait` arguments appear as synthetic parameters; the
        # argument itself shows them.
        params = [
            self.generic_param(param)
            for param in generics["params"]
            if not param["kind"].get("type", {}).get("is_synthetic", False)
        ]
        return f"<{', '.join(params)}>" if params else ""

    def where_clause(self, generics: dict) -> str:
        predicates = []
        for predicate in generics["where_predicates"]:
            kind, value = next(iter(predicate.items()))
            if kind == "bound_predicate":
                hrtb = self.higher_ranked(value["generic_params"])
                predicates.append(f"{hrtb}{self.type(value['type'])}: {self.bounds(value['bounds'])}")
            elif kind == "lifetime_predicate":
                predicates.append(f"{value['lifetime']}: {' + '.join(value['outlives'])}")
            elif kind == "eq_predicate":
                predicates.append(f"{self.type(value['lhs'])} = {self.term(value['rhs'])}")
            else:
                predicates.append(json.dumps(predicate, sort_keys=True))
        return f" where {', '.join(predicates)}" if predicates else ""

    def function(self, visibility: str, name: str, function: dict) -> str:
        header = self.header(function["header"])
        generics = self.generics(function["generics"])
        sig = function["sig"]
        inputs = [self.argument(arg_name, arg_type) for arg_name, arg_type in sig["inputs"]]
        if sig["is_c_variadic"]:
            inputs.append("...")
        output = f" -> {self.type(sig['output'])}" if sig["output"] is not None else ""
        where = self.where_clause(function["generics"])
        return f"{visibility} {header}fn {name}{generics}({', '.join(inputs)}){output}{where}"

    def argument(self, name: str, ty: dict) -> str:
        if name == "self":
            if ty == {"generic": "Self"}:
                return "self"
            reference = ty.get("borrowed_ref")
            if reference is not None and reference["type"] == {"generic": "Self"}:
                lifetime = f"{reference['lifetime']} " if reference["lifetime"] else ""
                mutable = "mut " if reference["is_mutable"] else ""
                return f"&{lifetime}{mutable}self"
        return f"{name}: {self.type(ty)}"


KIND_NAMES = {"proc_derive": "derive macro", "proc_attribute": "attribute macro", "module": "crate"}


def is_hidden(item: dict) -> bool:
    return any("doc(hidden)" in json.dumps(attr).replace(" ", "") for attr in item["attrs"])


NON_EXHAUSTIVE = "#[non_exhaustive] "


def attributes(item: dict) -> str:
    """The attributes that change what a user may do with an item."""
    return NON_EXHAUSTIVE if "non_exhaustive" in item["attrs"] else ""


def main() -> int:
    mode = sys.argv[1] if len(sys.argv) > 1 else None
    if mode not in (None, "--write", "--check") or len(sys.argv) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    listing = "".join(line + "\n" for line in Lister(rustdoc_json()).run())
    if mode is None:
        sys.stdout.write(listing)
        return 0
    if mode == "--write":
        LISTING.write_text(listing, encoding="utf-8")
        print(f"public_api: wrote {LISTING.relative_to(REPO)} ({listing.count(chr(10))} lines)")
        return 0
    expected = LISTING.read_text(encoding="utf-8") if LISTING.exists() else ""
    if listing == expected:
        print(f"public_api: {LISTING.relative_to(REPO)} is up to date")
        return 0
    relative = str(LISTING.relative_to(REPO))
    sys.stdout.writelines(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            listing.splitlines(keepends=True),
            fromfile=f"{relative} (checked in)",
            tofile=f"{relative} (built)",
        )
    )
    print(
        "public_api: the public API changed: review the diff, "
        "then run `python3 .ci/public_api.py --write`",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
