#!/usr/bin/env python3
"""Generate src/hardware/decorator.rs: the `HardwareAware<B>` backend decorator.

`HardwareAware<B>` implements Burn's `Backend` (plus `BackendTypes` and every op trait that
`Backend` requires) by delegating every method -- including those with a default body in Burn --
to the inner backend `B`, so results are bit-identical to `B`'s.

The method list is not hand-written: this script reads the trait definitions of burn-backend
0.21.0 from the local cargo registry, tokenizes them (comments, strings and default bodies are
skipped), extracts every `fn` signature (generics, where-clauses, `impl Trait` arguments and
returns included) and writes one delegating impl per trait.

Rewrites applied to the signatures:
* the trait's backend parameter `B` (e.g. `FloatTensorOps<B: Backend>`) becomes `Self`, so the
  emitted signatures are the trait's own; every associated type of `HardwareAware<B>` is `B`'s,
  so `FloatTensor<Self>` *is* `FloatTensor<B>` and tensors are forwarded as-is;
* `_name` / `mut name` parameter patterns become `name` (they are forwarded, so used);
* the few argument / return types that are generic over the backend itself (rather than over
  its associated types), e.g. `TensorPrimitive<B>` or `MaxPool2dWithIndices<B>`, are converted
  by small helper functions (listed in CONVERSIONS below). Any other appearance of the backend
  parameter outside the tensor/device aliases makes the script fail loudly.

Usage: python3 tools/gen_delegation.py [--check] [--no-rustfmt] [--registry DIR]
  --check       do not write; exit 1 if src/hardware/decorator.rs is not up to date.
  --no-rustfmt  do not pipe the output through rustfmt.
Standard library only.
"""

import argparse
import glob
import os
import re
import subprocess
import sys

BURN_VERSION = "0.21.0"
CRATE_DIR = f"burn-backend-{BURN_VERSION}"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_PATH = os.path.join(ROOT, "src", "hardware", "decorator.rs")

# Supertraits of `Backend` that are not Burn op traits (nothing to delegate).
MARKER_TRAITS = {"Clone", "Default", "Sized", "Send", "Sync", "Debug"}

# Aliases `Alias<B>` = `<B as BackendTypes>::X`: identical for `HardwareAware<B>` and `B`.
TRANSPARENT_ALIASES = {
    "FloatTensor", "IntTensor", "BoolTensor", "QuantizedTensor",
    "Device", "FloatElem", "IntElem", "BoolElem",
}

# Types generic over the backend itself: (argument conversion, return conversion) helpers.
CONVERSIONS = {
    "TensorPrimitive": ("primitive_to_inner", "primitive_from_inner"),
    "TransactionPrimitive": ("transaction_to_inner", None),
    "QuantizationParametersPrimitive": ("qparams_to_inner", None),
    "MaxPool1dWithIndices": (None, "max_pool1d_with_indices_from_inner"),
    "MaxPool1dBackward": (None, "max_pool1d_backward_from_inner"),
    "MaxPool2dWithIndices": (None, "max_pool2d_with_indices_from_inner"),
    "MaxPool2dBackward": (None, "max_pool2d_backward_from_inner"),
    "DeformConv2dBackward": (None, "deform_conv2d_backward_from_inner"),
}

HELPERS = """
/// `TensorPrimitive<HardwareAware<B>>` -> `TensorPrimitive<B>` (same payload types).
fn primitive_to_inner<B: Backend>(t: TensorPrimitive<HardwareAware<B>>) -> TensorPrimitive<B> {
    match t {
        TensorPrimitive::Float(t) => TensorPrimitive::Float(t),
        TensorPrimitive::QFloat(t) => TensorPrimitive::QFloat(t),
    }
}

/// `TensorPrimitive<B>` -> `TensorPrimitive<HardwareAware<B>>` (same payload types).
fn primitive_from_inner<B: Backend>(t: TensorPrimitive<B>) -> TensorPrimitive<HardwareAware<B>> {
    match t {
        TensorPrimitive::Float(t) => TensorPrimitive::Float(t),
        TensorPrimitive::QFloat(t) => TensorPrimitive::QFloat(t),
    }
}

/// Moves the tensors of a transaction to the inner backend's transaction type. The read order
/// kept privately by `TransactionPrimitive` is consumed by `execute_async` before `tr_execute`
/// is called, so it is empty here and nothing is lost.
fn transaction_to_inner<B: Backend>(
    t: TransactionPrimitive<HardwareAware<B>>,
) -> TransactionPrimitive<B> {
    TransactionPrimitive::new(t.read_floats, t.read_qfloats, t.read_ints, t.read_bools)
}

fn qparams_to_inner<B: Backend>(
    q: QuantizationParametersPrimitive<HardwareAware<B>>,
) -> QuantizationParametersPrimitive<B> {
    QuantizationParametersPrimitive { scales: q.scales }
}

fn max_pool1d_with_indices_from_inner<B: Backend>(
    r: MaxPool1dWithIndices<B>,
) -> MaxPool1dWithIndices<HardwareAware<B>> {
    MaxPool1dWithIndices::new(r.output, r.indices)
}

fn max_pool1d_backward_from_inner<B: Backend>(
    r: MaxPool1dBackward<B>,
) -> MaxPool1dBackward<HardwareAware<B>> {
    MaxPool1dBackward::new(r.x_grad)
}

fn max_pool2d_with_indices_from_inner<B: Backend>(
    r: MaxPool2dWithIndices<B>,
) -> MaxPool2dWithIndices<HardwareAware<B>> {
    MaxPool2dWithIndices::new(r.output, r.indices)
}

fn max_pool2d_backward_from_inner<B: Backend>(
    r: MaxPool2dBackward<B>,
) -> MaxPool2dBackward<HardwareAware<B>> {
    MaxPool2dBackward::new(r.x_grad)
}

fn deform_conv2d_backward_from_inner<B: Backend>(
    r: DeformConv2dBackward<B>,
) -> DeformConv2dBackward<HardwareAware<B>> {
    DeformConv2dBackward::new(r.x_grad, r.offset_grad, r.weight_grad, r.mask_grad, r.bias_grad)
}
"""

# Types the HELPERS use.
HELPER_TYPES = list(CONVERSIONS) + ["Backend"]

# Where each type/trait name used in the emitted code is imported from (through `burn`).
IMPORTS = {
    "core::future": ["Future"],
    "core::marker": ["PhantomData"],
    "core::ops": ["Range"],
    "burn::tensor::backend": [
        "Backend", "BackendTypes", "DTypeUsageSet", "ExecutionError",
    ],
    "burn::tensor::ops": [
        "ActivationOps", "BoolTensorOps", "FloatTensorOps", "IntTensorOps", "ModuleOps",
        "QTensorOps", "TransactionOps", "TransactionPrimitiveData",
        "BoolTensor", "Device", "FloatTensor", "IntTensor", "QuantizedTensor",
        "FloatElem", "IntElem", "BoolElem",
        "ConvOptions", "ConvTransposeOptions", "DeformConvOptions", "DeformConv2dBackward",
        "InterpolateOptions", "InterpolateMode", "GridSampleOptions", "UnfoldOptions",
        "AttentionModuleOptions", "PaddedConvOptions", "PadMode",
        "MaxPool1dBackward", "MaxPool1dWithIndices", "MaxPool2dBackward", "MaxPool2dWithIndices",
        "Conv2dBackward", "Conv3dBackward",
    ],
    "burn::tensor": [
        "BoolDType", "DType", "Distribution", "FloatDType", "IntDType", "Scalar", "Shape",
        "Slice", "TensorData", "TensorPrimitive", "TransactionPrimitive", "IndexingUpdateOp",
    ],
    "core::ops": ["Range"],
    "burn::tensor::quantization": [
        "QuantizationParametersPrimitive", "QuantScheme", "QuantPropagation", "QuantMode",
    ],
}
# Names that need no import (prelude, keywords, primitive types, the generic names we declare).
NO_IMPORT = {
    "Self", "Option", "Result", "Vec", "String", "Iterator", "Fn", "FnMut", "FnOnce",
    "Send", "Sync", "Sized", "Clone", "Ok", "Err", "Some", "None", "Box",
}


# --------------------------------------------------------------------------------------------
# Lexer
# --------------------------------------------------------------------------------------------

class Tok:
    __slots__ = ("kind", "text")

    def __init__(self, kind, text):
        self.kind = kind  # 'ident', 'lifetime', 'punct', 'lit'
        self.text = text

    def __repr__(self):
        return f"{self.kind}:{self.text}"


PUNCT3 = ("..=", "...", "<<=", ">>=")
PUNCT2 = ("::", "->", "=>", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/=", "..")


def lex(src):
    toks = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c.isspace():
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif c == '"' or (c in "bc" and src.startswith('"', i + 1)):
            j = i + (1 if c != '"' else 0) + 1
            while src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            toks.append(Tok("lit", src[i:j + 1]))
            i = j + 1
        elif re.match(r'(br|r|cr)#*"', src[i:i + 8]):
            m = re.match(r'(br|r|cr)(#*)"', src[i:])
            end = '"' + m.group(2)
            j = src.index(end, i + m.end())
            toks.append(Tok("lit", src[i:j + len(end)]))
            i = j + len(end)
        elif c == "'" or (c == "b" and src.startswith("'", i + 1)):
            k = i + (1 if c == "b" else 0)
            m = re.match(r"'(\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)|[^\\'])'", src[k:])
            if m:
                toks.append(Tok("lit", src[i:k + m.end()]))
                i = k + m.end()
            else:
                m = re.match(r"'[A-Za-z_][A-Za-z0-9_]*", src[i:])
                if not m:
                    raise SyntaxError(f"bad quote at {src[i:i + 20]!r}")
                toks.append(Tok("lifetime", m.group(0)))
                i += m.end()
        elif c.isalpha() or c == "_":
            m = re.match(r"(r#)?[A-Za-z_][A-Za-z0-9_]*", src[i:])
            toks.append(Tok("ident", m.group(0)))
            i += m.end()
        elif c.isdigit():
            m = re.match(r"[0-9][0-9A-Za-z_]*(\.[0-9][0-9A-Za-z_]*)?", src[i:])
            toks.append(Tok("lit", m.group(0)))
            i += m.end()
        else:
            for p in PUNCT3 + PUNCT2:
                if src.startswith(p, i):
                    toks.append(Tok("punct", p))
                    i += len(p)
                    break
            else:
                toks.append(Tok("punct", c))
                i += 1
    return toks


OPEN = {"(": ")", "[": "]", "{": "}"}


def skip_group(toks, i):
    """toks[i] is an opening bracket; returns the index after its matching closer."""
    stack = []
    while True:
        t = toks[i].text if toks[i].kind == "punct" else None
        if t in OPEN:
            stack.append(OPEN[t])
        elif t in (")", "]", "}"):
            if stack.pop() != t:
                raise SyntaxError("unbalanced brackets")
            if not stack:
                return i + 1
        i += 1


def split_top(toks, sep=","):
    """Splits a token list at top-level `sep` (outside (), [], {}, <>)."""
    parts, cur, depth = [], [], 0
    for t in toks:
        if t.kind == "punct":
            if t.text in ("(", "[", "{", "<"):
                depth += 1
            elif t.text in (")", "]", "}", ">"):
                depth -= 1
            elif t.text == sep and depth == 0:
                parts.append(cur)
                cur = []
                continue
        cur.append(t)
    if cur:
        parts.append(cur)
    return parts


def render(toks):
    """Token list -> source text (rustfmt tidies the spacing afterwards)."""
    out = ""
    prev = None
    for t in toks:
        s = t.text
        if prev is not None:
            no_space = (
                s in (",", ";", ")", "]", ">", "::", "?", ".")
                or prev.text in ("(", "[", "<", "::", "&", ".")
                or (s == "<" and prev.kind == "ident")
                or (s == "(" and prev.kind == "ident" and prev.text not in ("impl", "dyn", "where"))
                or (s == ":" and prev.kind in ("ident", "lifetime"))
                or (prev.text == "!" and s in ("(", "[", "{"))
            )
            if prev.text == ">" and s in ("(", "::"):
                no_space = True
            if prev.text == ">" and s == ">":
                no_space = True
            if prev.text == "&" and s == "mut":
                no_space = False
            out += "" if no_space else " "
        out += s
        prev = t
    return out


# --------------------------------------------------------------------------------------------
# Trait extraction
# --------------------------------------------------------------------------------------------

class Method:
    def __init__(self, name, generics, params, ret, where, has_default):
        self.name = name
        self.generics = generics  # tokens inside <...> (without the brackets) or []
        self.params = params  # list of (name, pattern tokens, type tokens)
        self.ret = ret  # tokens after `->` or []
        self.where = where  # tokens after `where` or []
        self.has_default = has_default


class Trait:
    def __init__(self, name, param, supertraits, methods, assoc_types, path):
        self.name = name
        self.param = param  # name of the backend type parameter (`B`), or None
        self.supertraits = supertraits  # tokens
        self.methods = methods
        self.assoc_types = assoc_types
        self.path = path


def find_trait(toks, name):
    for i in range(len(toks) - 2):
        if (toks[i].text == "pub" and toks[i + 1].text == "trait"
                and toks[i + 2].text == name and toks[i + 2].kind == "ident"):
            return i + 3
    return None


def parse_fn(toks, i):
    """toks[i] is `fn`. Returns (Method, index after the item)."""
    i += 1
    name = toks[i].text
    i += 1
    generics = []
    if toks[i].text == "<":
        depth, j = 0, i
        while True:
            if toks[j].text == "<":
                depth += 1
            elif toks[j].text == ">":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        generics = toks[i + 1:j]
        i = j + 1
    assert toks[i].text == "(", name
    end = skip_group(toks, i)
    params = []
    for p in split_top(toks[i + 1:end - 1]):
        if not p:
            continue
        colon = next(k for k, t in enumerate(p) if t.kind == "punct" and t.text == ":")
        pat, ty = p[:colon], p[colon + 1:]
        pat_text = [t.text for t in pat]
        if pat_text and pat_text[0] == "mut":
            pat_text = pat_text[1:]
        if len(pat_text) != 1 or pat[-1].kind != "ident":
            raise SyntaxError(f"{name}: unsupported parameter pattern {render(pat)!r}")
        pname = pat_text[0]
        if pname == "_":
            pname = f"arg{len(params)}"
        elif pname.startswith("_"):
            pname = pname.lstrip("_")
        params.append((pname, pat, ty))
    i = end
    ret, where = [], []
    cur = None
    while True:
        t = toks[i]
        if t.kind == "punct" and t.text in (";", "{"):
            break
        if t.kind == "punct" and t.text == "->" and cur is None:
            cur = ret
        elif t.kind == "ident" and t.text == "where":
            cur = where
        else:
            if cur is None:
                raise SyntaxError(f"{name}: unexpected token {t.text!r}")
            cur.append(t)
        i += 1
    has_default = toks[i].text == "{"
    i = skip_group(toks, i) if has_default else i + 1
    return Method(name, generics, params, ret, where, has_default), i


def parse_trait(toks, name, path):
    i = find_trait(toks, name)
    param = None
    if toks[i].text == "<":
        param = toks[i + 1].text
        while toks[i].text != ">":
            i += 1
        i += 1
    supertraits = []
    if toks[i].text == ":":
        i += 1
        while toks[i].text != "{":
            supertraits.append(toks[i])
            i += 1
    if toks[i].text == "where":
        raise SyntaxError(f"{name}: trait where-clauses are not supported")
    assert toks[i].text == "{"
    body_end = skip_group(toks, i) - 1
    i += 1
    methods, assoc = [], []
    while i < body_end:
        t = toks[i]
        if t.text == "#":
            j = skip_group(toks, i + 1)
            attr = render(toks[i + 2:j - 1])
            if attr.startswith("cfg") and not attr.startswith("cfg_attr"):
                raise SyntaxError(f"{name}: conditional item ({attr}) needs manual review")
            i = j
        elif t.text == "fn":
            m, i = parse_fn(toks, i)
            methods.append(m)
        elif t.text == "type":
            assoc.append(toks[i + 1].text)
            while toks[i].text != ";":
                i += 1
            i += 1
        elif t.text in ("unsafe", "async", "const"):
            raise SyntaxError(f"{name}: `{t.text}` items are not supported")
        else:
            raise SyntaxError(f"{name}: unexpected token {t.text!r} in trait body")
    return Trait(name, param, supertraits, methods, assoc, path)


# --------------------------------------------------------------------------------------------
# Code generation
# --------------------------------------------------------------------------------------------

def subst(toks, param):
    """Replaces the trait's backend parameter by `Self` and drops `crate::a::b::` path prefixes
    (the last segment is imported through `burn` instead)."""
    out = []
    k = 0
    while k < len(toks):
        t = toks[k]
        if t.kind == "ident" and t.text in ("crate", "super") and k + 1 < len(toks) \
                and toks[k + 1].text == "::":
            k += 2
            while k + 1 < len(toks) and toks[k].kind == "ident" and toks[k + 1].text == "::":
                k += 2
            continue
        if param is not None and t.kind == "ident" and t.text == param:
            t = Tok("ident", "Self")
        out.append(t)
        k += 1
    return out


def type_names(toks):
    """Capitalized names a token list refers to that need to be in scope: not path tails
    (`B::Device`) nor associated-type bindings (`Output = ...`)."""
    names = set()
    for k, t in enumerate(toks):
        if t.kind != "ident" or not t.text[:1].isupper():
            continue
        if k > 0 and toks[k - 1].text == "::":
            continue
        if k + 1 < len(toks) and toks[k + 1].kind == "punct" and toks[k + 1].text == "=":
            continue
        names.add(t.text)
    return names


def backend_uses(toks, param):
    """Yields (wrapper name, index) for each use of `param` in a type, e.g. `FloatTensor<B>`."""
    for k, t in enumerate(toks):
        if t.kind == "ident" and t.text == param:
            wrapper = None
            if k >= 2 and toks[k - 1].text == "<" and toks[k - 2].kind == "ident" \
                    and k + 1 < len(toks) and toks[k + 1].text == ">":
                wrapper = toks[k - 2].text
            yield wrapper, k


def conversion(trait, method, ty, is_ret):
    """Name of the helper converting a value of type `ty` (tokens, trait's spelling), or None."""
    if trait.param is None:
        return None
    conv = None
    for wrapper, _ in backend_uses(ty, trait.param):
        if wrapper in TRANSPARENT_ALIASES:
            continue
        texts = [t.text for t in ty]
        if wrapper in CONVERSIONS and texts == [wrapper, "<", trait.param, ">"]:
            conv = CONVERSIONS[wrapper][1 if is_ret else 0]
            if conv is None:
                raise SyntaxError(f"{trait.name}::{method}: no {'return' if is_ret else 'argument'}"
                                  f" conversion for {wrapper}")
            continue
        raise SyntaxError(f"{trait.name}::{method}: the backend parameter appears in "
                          f"{render(ty)!r}; add a conversion to CONVERSIONS")
    return conv


def gen_method(trait, m, delegate_path, used, special_body=None):
    param = trait.param
    for part in [m.generics, m.ret, m.where] + [ty for _, _, ty in m.params]:
        used |= type_names(subst(part, param))
    sig = "fn " + m.name
    if m.generics:
        sig += "<" + render(subst(m.generics, param)) + ">"
    args = []
    call_args = []
    for pname, _pat, ty in m.params:
        args.append(f"{pname}: {render(subst(ty, param))}")
        conv = conversion(trait, m.name, ty, is_ret=False)
        call_args.append(f"{conv}({pname})" if conv else pname)
    sig += "(" + ", ".join(args) + ")"
    if m.ret:
        sig += " -> " + render(subst(m.ret, param))
    if m.where:
        sig += " where " + render(subst(m.where, param))
    if special_body is not None:
        body = special_body
    else:
        body = f"{delegate_path}::{m.name}({', '.join(call_args)})"
        if m.ret:
            conv = conversion(trait, m.name, m.ret, is_ret=True)
            if conv:
                body = f"{conv}({body})"
    return f"{sig} {{\n{body}\n}}\n"


def generate(registry):
    src_dir = os.path.join(registry, "src")
    files = sorted(glob.glob(os.path.join(src_dir, "backend", "**", "*.rs"), recursive=True))
    lexed = {}

    def locate(name):
        hits = []
        for f in files:
            if f not in lexed:
                with open(f, encoding="utf-8") as fh:
                    lexed[f] = lex(fh.read())
            if find_trait(lexed[f], name) is not None:
                hits.append(f)
        if len(hits) != 1:
            raise SyntaxError(f"trait {name} found in {hits}")
        return parse_trait(lexed[hits[0]], name, hits[0])

    backend = locate("Backend")
    types = locate("BackendTypes")
    op_traits = []
    for part in split_top(backend.supertraits, "+"):
        texts = [t.text for t in part]
        if part[0].kind == "lifetime" or texts[-1] in MARKER_TRAITS:
            continue
        if texts == ["BackendTypes"]:
            continue
        if len(texts) != 4 or texts[1:] != ["<", "Self", ">"]:
            raise SyntaxError(f"unexpected supertrait of Backend: {render(part)}")
        op_traits.append(texts[0])

    used = {"Backend", "BackendTypes", "PhantomData"} | set(op_traits) | set(HELPER_TYPES)
    blocks = []
    counts = []
    all_methods = list(backend.methods)
    # BackendTypes
    lines = [f"type {a} = B::{a};" for a in types.assoc_types]
    blocks.append("impl<B: Backend> BackendTypes for HardwareAware<B> {\n"
                  + "\n".join(lines) + "\n}\n")
    counts.append(("BackendTypes", len(types.assoc_types), "associated types"))
    # Backend
    body = []
    special = []
    for m in backend.methods:
        if m.name == "name":
            dev = m.params[0][0]
            sb = f'format!("hardware-aware<{{}}>", <B as Backend>::name({dev}))'
            special.append("Backend::name (formats \"hardware-aware<{inner}>\")")
            body.append(gen_method(backend, m, "<B as Backend>", used, special_body=sb))
        else:
            body.append(gen_method(backend, m, "<B as Backend>", used))
    blocks.append("impl<B: Backend> Backend for HardwareAware<B> {\n" + "\n".join(body) + "}\n")
    counts.append(("Backend", len(backend.methods), "methods"))
    # op traits
    for name in op_traits:
        tr = locate(name)
        all_methods.extend(tr.methods)
        body = []
        for m in tr.methods:
            body.append(gen_method(tr, m, f"<B as {name}<B>>", used))
            for _, _, ty in m.params:
                c = conversion(tr, m.name, ty, False)
                if c:
                    special.append(f"{name}::{m.name} (argument via {c})")
            if m.ret:
                c = conversion(tr, m.name, m.ret, True)
                if c:
                    special.append(f"{name}::{m.name} (return via {c})")
        blocks.append(f"impl<B: Backend> {name}<Self> for HardwareAware<B> {{\n"
                      + "\n".join(body) + "}\n")
        n_def = sum(m.has_default for m in tr.methods)
        noun = "method" if len(tr.methods) == 1 else "methods"
        counts.append((name, len(tr.methods), f"{noun} ({n_def} with a default body in Burn)"))

    code = "\n".join(blocks) + HELPERS
    used = used - NO_IMPORT - {"HardwareAware"}
    imports = []
    known = set()
    for module, names in IMPORTS.items():
        picked = sorted(n for n in names if n in used)
        known.update(names)
        if picked:
            imports.append(f"use {module}::{{{', '.join(picked)}}};")
    # Generic parameter names declared by the methods themselves need no import.
    declared = set()
    for m in all_methods:
        for part in split_top(m.generics):
            if part and part[0].kind == "ident":
                declared.add(part[0].text)
    missing = sorted(used - known - declared)
    if missing:
        raise SyntaxError(f"no import known for: {missing}; add them to IMPORTS")

    summary = "\n".join(f"//! * `{n}`: {c} {what}" for n, c, what in counts)
    header = f"""// @generated by tools/gen_delegation.py from burn-backend {BURN_VERSION}.
// DO NOT EDIT BY HAND: change the generator and rerun `python3 tools/gen_delegation.py`.
//! The [`HardwareAware`] backend decorator: every `Backend` method and every op of Burn's
//! backend traits is delegated to the inner backend `B` (default-implemented methods included,
//! so `B`'s own overrides run and results are bit-identical to `B`'s).
//!
//! Delegated items:
{summary}

{chr(10).join(imports)}

/// Backend decorator that runs every operation on the inner backend `B`.
///
/// All associated types (device, tensor primitives, elements) are `B`'s, so tensors move between
/// `HardwareAware<B>` and `B` without conversion.
#[derive(Clone, Copy, Debug, Default)]
pub struct HardwareAware<B> {{
    _b: PhantomData<B>,
}}

"""
    return header + code, counts, special


def rustfmt(code):
    try:
        proc = subprocess.run(["rustfmt", "--edition", "2021", "--emit", "stdout"],
                              input=code, capture_output=True, text=True, check=False, cwd=ROOT)
    except FileNotFoundError:
        print("warning: rustfmt not found; writing unformatted code", file=sys.stderr)
        return code
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit("rustfmt failed on the generated code")
    return proc.stdout


def find_registry(explicit):
    if explicit:
        return explicit
    pattern = os.path.join(os.path.expanduser("~"), ".cargo", "registry", "src", "*", CRATE_DIR)
    cargo_home = os.environ.get("CARGO_HOME")
    if cargo_home:
        pattern2 = os.path.join(cargo_home, "registry", "src", "*", CRATE_DIR)
        hits = sorted(glob.glob(pattern2)) or sorted(glob.glob(pattern))
    else:
        hits = sorted(glob.glob(pattern))
    if not hits:
        raise SystemExit(f"{CRATE_DIR} not found in the cargo registry (run `cargo fetch`)")
    return hits[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--no-rustfmt", action="store_true")
    ap.add_argument("--registry", help=f"path to the {CRATE_DIR} sources")
    args = ap.parse_args()
    registry = find_registry(args.registry)
    code, counts, special = generate(registry)
    if not args.no_rustfmt:
        code = rustfmt(code)
    for name, n, what in counts:
        print(f"{name}: {n} {what}")
    print(f"total delegated methods: {sum(n for name, n, _ in counts if name != 'BackendTypes')}")
    grouped = {}
    for s in special:
        method, _, how = s.partition(" (")
        grouped.setdefault(how.rstrip(")"), []).append(method)
    for how, methods in grouped.items():
        methods = list(dict.fromkeys(methods))
        print(f"special handling, {how}: {len(methods)} method(s): {', '.join(methods)}")
    if args.check:
        try:
            with open(OUT_PATH, encoding="utf-8") as fh:
                current = fh.read()
        except FileNotFoundError:
            current = None
        if current != code:
            print(f"{OUT_PATH} is out of date", file=sys.stderr)
            return 1
        print(f"{OUT_PATH} is up to date")
        return 0
    os.makedirs(os.path.dirname(OUT_PATH), exist_ok=True)
    with open(OUT_PATH, "w", encoding="utf-8") as fh:
        fh.write(code)
    print(f"wrote {OUT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
