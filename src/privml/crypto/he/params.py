"""CKKS parameters (N, modulus chain, scale) chosen from a model's multiplicative depth.

Security: the total bit size of the coefficient modulus may not exceed the HE standard's bound
for 128-bit classical security at the given ring degree N (homomorphicencryption.org, table of
uniform ternary secrets; the same table SEAL enforces as ``sec_level_type.tc128``). Anything
weaker is refused with ``InsecureParameters`` naming the field, before SEAL ever sees it.

Chain layout (Microsoft SEAL's CKKS recipe): ``[first, scale x depth, special]``. Every
multiplication is followed by a rescale that drops one ``scale``-bit prime, so a circuit of
multiplicative depth L needs L middle primes. The first prime holds the decrypted result: it is
``scale + int_bits`` bits, leaving ``int_bits`` bits for the integer part of any value. The
special prime is only used for key switching (relinearisation, rotations) and must be at least
as large as every other prime.

Automatic choice: ``scale_bits = 40`` and ``int_bits = 20`` (primes of 60 bits, SEAL's maximum)
give a fresh CKKS error around 1e-7 relative, well inside the 1e-3 score tolerance privml
promises even after a square and two sums of ~100 terms; then N is the smallest ring degree whose
128-bit bound holds the chain. Depth 1 (logistic regression) gives N = 8192, [60, 40, 60];
depth 3 (the polynomial MLP) gives N = 16384, [60, 40, 40, 40, 60]. Per-sample cost barely
depends on N, because the number of SIMD slots (N / 2) grows with it.
"""

from __future__ import annotations

from dataclasses import dataclass

# HE standard (2018), Table 1, 128-bit classical security, ternary secret: max log2(Q) per N.
MAX_COEFF_BITS_128: dict[int, int] = {
    1024: 27,
    2048: 54,
    4096: 109,
    8192: 218,
    16384: 438,
    32768: 881,
}
MAX_PRIME_BITS = 60  # SEAL's limit on one coefficient-modulus prime
MIN_PRIME_BITS = 20  # below this SEAL cannot find enough NTT-friendly primes; precision is nil
DEFAULT_SCALE_BITS = 40
DEFAULT_INT_BITS = 20


class HEParameterError(ValueError):
    """Parameters that cannot work (malformed, or too shallow for the model)."""


class InsecureParameters(HEParameterError):
    """Parameters below 128-bit security under the HE standard."""


class ModelTooDeep(HEParameterError):
    """The model needs more multiplications than the modulus chain allows."""


@dataclass(frozen=True)
class HEParams:
    """CKKS parameters: ring degree N, coefficient-modulus prime sizes, scale 2**scale_bits."""

    poly_modulus_degree: int
    coeff_mod_bit_sizes: tuple[int, ...]
    scale_bits: int

    @property
    def depth(self) -> int:
        """Multiplications (rescales) the chain supports: one middle prime each."""
        return len(self.coeff_mod_bit_sizes) - 2

    @property
    def slots(self) -> int:
        """SIMD slots per ciphertext (N / 2)."""
        return self.poly_modulus_degree // 2

    @property
    def total_bits(self) -> int:
        return sum(self.coeff_mod_bit_sizes)

    @property
    def scale(self) -> float:
        return float(2**self.scale_bits)

    def to_dict(self) -> dict:
        return {
            "poly_modulus_degree": self.poly_modulus_degree,
            "coeff_mod_bit_sizes": list(self.coeff_mod_bit_sizes),
            "scale_bits": self.scale_bits,
        }

    @classmethod
    def from_dict(cls, d: dict) -> HEParams:
        """Parse and validate (security included) a ``to_dict`` mapping."""
        if not isinstance(d, dict):
            raise HEParameterError(f"params: must be an object, got {type(d).__name__}")
        for key in ("poly_modulus_degree", "coeff_mod_bit_sizes", "scale_bits"):
            if key not in d:
                raise HEParameterError(f"params.{key}: missing")
        sizes = d["coeff_mod_bit_sizes"]
        if not isinstance(sizes, list | tuple) or not all(_is_int(s) for s in sizes):
            raise HEParameterError("coeff_mod_bit_sizes: must be a list of integers")
        if not _is_int(d["poly_modulus_degree"]) or not _is_int(d["scale_bits"]):
            raise HEParameterError("poly_modulus_degree and scale_bits: must be integers")
        return validate(HEParams(d["poly_modulus_degree"], tuple(sizes), d["scale_bits"]))


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def validate(params: HEParams, depth: int | None = None) -> HEParams:
    """Return ``params`` if they are well formed, 128-bit secure and (given ``depth``) deep
    enough for the model; raise a ``HEParameterError`` subclass naming the field otherwise."""
    n, sizes, scale_bits = params.poly_modulus_degree, params.coeff_mod_bit_sizes, params.scale_bits
    if n not in MAX_COEFF_BITS_128:
        allowed = ", ".join(str(k) for k in MAX_COEFF_BITS_128)
        raise HEParameterError(f"poly_modulus_degree: must be one of {allowed}, got {n}")
    if len(sizes) < 3:
        raise HEParameterError(
            f"coeff_mod_bit_sizes: need at least 3 primes (first, one per multiplication, "
            f"special), got {list(sizes)}"
        )
    for i, b in enumerate(sizes):
        if not MIN_PRIME_BITS <= b <= MAX_PRIME_BITS:
            raise HEParameterError(
                f"coeff_mod_bit_sizes[{i}]: must be in [{MIN_PRIME_BITS}, {MAX_PRIME_BITS}] "
                f"bits, got {b}"
            )
    bound = MAX_COEFF_BITS_128[n]
    if params.total_bits > bound:
        raise InsecureParameters(
            f"coeff_mod_bit_sizes: total {params.total_bits} bits exceeds {bound}, the HE "
            f"standard's maximum for 128-bit security at poly_modulus_degree={n}; use fewer or "
            f"smaller primes or a larger poly_modulus_degree"
        )
    if not MIN_PRIME_BITS <= scale_bits <= MAX_PRIME_BITS:
        raise HEParameterError(
            f"scale_bits: must be in [{MIN_PRIME_BITS}, {MAX_PRIME_BITS}], got {scale_bits}"
        )
    if sizes[0] <= scale_bits:
        raise HEParameterError(
            f"coeff_mod_bit_sizes[0]: must exceed scale_bits ({scale_bits}) to hold the "
            f"result's integer part, got {sizes[0]}"
        )
    if any(b < scale_bits - 5 or b > scale_bits + 5 for b in sizes[1:-1]):
        raise HEParameterError(
            f"coeff_mod_bit_sizes[1:-1]: rescaling primes must be within 5 bits of scale_bits "
            f"({scale_bits}) to keep the scale stable, got {list(sizes[1:-1])}"
        )
    if sizes[-1] < max(sizes[:-1]):
        raise HEParameterError(
            f"coeff_mod_bit_sizes[-1]: the special (key-switching) prime must be at least as "
            f"large as every other prime ({max(sizes[:-1])}), got {sizes[-1]}"
        )
    if depth is not None and depth > params.depth:
        raise ModelTooDeep(
            f"coeff_mod_bit_sizes: the model needs multiplicative depth {depth} but "
            f"{list(sizes)} allows {params.depth} (one middle prime per multiplication); add "
            f"primes (within the security bound) or let privml choose the parameters"
        )
    return params


def choose_params(
    depth: int, scale_bits: int = DEFAULT_SCALE_BITS, int_bits: int = DEFAULT_INT_BITS
) -> HEParams:
    """The smallest-N 128-bit-secure parameters for multiplicative ``depth`` (see module doc)."""
    if depth < 1:
        raise HEParameterError(f"depth: must be >= 1, got {depth}")
    first = min(scale_bits + int_bits, MAX_PRIME_BITS)
    sizes = (first, *([scale_bits] * depth), max(first, scale_bits))
    for n, bound in MAX_COEFF_BITS_128.items():
        if sum(sizes) <= bound:
            return validate(HEParams(n, sizes, scale_bits), depth)
    n_max = max(MAX_COEFF_BITS_128)
    allowed = (MAX_COEFF_BITS_128[n_max] - 2 * first) // scale_bits
    raise ModelTooDeep(
        f"depth: the model needs multiplicative depth {depth}, but the largest 128-bit-secure "
        f"chain (poly_modulus_degree={n_max}, {MAX_COEFF_BITS_128[n_max]} bits) allows "
        f"{allowed} at scale 2^{scale_bits}"
    )


def parse_bit_sizes(text: str) -> tuple[int, ...]:
    """``"60,40,60"`` -> ``(60, 40, 60)``, with an error naming the field."""
    try:
        return tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise HEParameterError(
            f"coeff_mod_bit_sizes: must be comma-separated integers, got {text!r}"
        ) from None
