"""The ledger's audit: may a new cell be released, given every cell released from the dataset before?

What it promises. Every released cell *registers* the row sets its value is computed from. Whoever asks for releases
knows every cell's definition and value and may combine them linearly, as in query auditing (Chin and Özsoyoğlu,
"Auditing and inference control in statistical databases", 1982): a combination Σ λᵢ·1[Rᵢ] of row sets tells them a
statistic of the records where the combination is not zero (a difference of two sums is the sum over the records one
holds and the other does not). A new row set is refused when, with every row set registered before, some combination
that uses it is

- nonzero on at least one record but on fewer than `threshold` records: a group under the threshold singled out (one
  person at worst: Chin's compromise), or
- nonzero as a *definition* yet on no record, when that empty region sits in a group of fewer than `threshold` people
  (only when zeros are disclosive): two definitions that differ by a region with nobody in it tell that nobody is
  there, which is the zero cell of a crosstab; "nobody aged 100 or more without HIV", where one person is aged 100 or
  more, tells that person's status. The checker (checker.py) decides that from the combination this module hands it.

The limit of the promise: it is about linear combinations of the registered row sets. What a statistic reveals beyond
its row set (a dominated sum, a variance) is the cell rules' business (disclosure.py), and magnitude spans per measure
(`would_imply`) protect suppressed magnitude cells from being derived.

How. Records that every row set treats alike form an *atom*; row sets are 0/1 vectors over atoms, kept in reduced row
echelon form over GF(p), p = 2³¹ − 1 (exact, and fast in int64: no rounding error ever hides a dependency). Atoms of at
least `threshold` records ("big") are pivoted first, so the rows that pivot on small atoms span exactly the vectors that
vanish on every big atom. A new vector q is reduced to q′. If q′ is zero on the atoms, q adds no records' information
(only the zero check applies). If q′ touches a big atom that no row can cancel, any combination with q covers that big
atom: safe. Otherwise the search looks for α with q′ + Σ αᵢ·rowᵢ (small-pivot rows) nonzero on atoms of fewer than
`threshold` records in all: a branch and bound over which atoms are zero, pruned by a packing bound (every set of
forms whose augmented vectors have full rank holds a nonzero one). A search that runs out of its budget refuses: the
audit fails closed. The zero check rides along as a few extra columns per vector: each definition evaluated at random
points of its product space (Schwartz–Zippel), which a combination zero on every record must also zero.

Arithmetic modulo p can find a dependency that exact arithmetic would not (a refusal that was not needed); it misses
one only if p divides an elementary divisor of the matrix, a chance of the order of 2⁻³¹ per check.
"""

import time
from dataclasses import dataclass

import numpy as np

P = 2_147_483_647  # 2**31 - 1: products of two residues fit in int64
NODE_BUDGET = 500  # branch-and-bound nodes per candidate before the audit gives up (and refuses): proofs take ~20
SEARCH_SECONDS = 15.0  # and the time one search may take


class Exhausted(Exception):
    """The search ran past its budget: the candidate is refused, never released unchecked."""


def inverse(value: int) -> int:
    return pow(int(value) % P, P - 2, P)


def inverses(values: np.ndarray) -> np.ndarray:
    """Modular inverses of many nonzero residues at once (Fermat: a^(p−2), by squaring; each product < 2⁶²)."""
    result = np.ones_like(values)
    base = values % P
    exponent = P - 2
    while exponent:
        if exponent & 1:
            result = (result * base) % P
        base = (base * base) % P
        exponent >>= 1
    return result


@dataclass(frozen=True)
class Verdict:
    admitted: bool
    reason: str = ""  # why not, for the owner (never the requester)
    records: int | None = None  # how few records the combination that refused it covered


def atoms_of(masks: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The atom of each record (records that every mask treats alike) and each atom's number of records."""
    if not masks:
        return np.zeros(n, dtype=np.int64), np.array([n] if n else [], dtype=np.int64)
    bits = np.packbits(np.stack([np.asarray(m, dtype=bool) for m in masks], axis=1), axis=1)
    _, atom, weights = np.unique(bits, axis=0, return_inverse=True, return_counts=True)
    return atom.reshape(-1).astype(np.int64), weights.astype(np.int64)


class Span:
    """The span of registered row sets over a fixed set of atoms, in reduced row echelon form over GF(p).

    With `capacity`, each vector also carries a unit vector in a block of that many columns (its index among the
    registered row sets), so that every row says which registered sets it combines: when a new vector adds nothing on
    the records, its reduced block is the combination that equals it there, handed to `implied` (the zero check)."""

    def __init__(
        self,
        atom: np.ndarray,
        weights: np.ndarray,
        threshold: int,
        *,
        capacity: int = 0,
        implied=None,
        deadline: float | None = None,
    ):
        order = np.argsort(weights < threshold, kind="stable")  # big atoms (>= threshold records) first
        self.position = np.empty(len(weights), dtype=np.int64)
        self.position[order] = np.arange(len(weights))
        self.atom = atom
        self.weights = weights[order]
        self.big = int(np.sum(weights >= threshold))
        self.width = len(weights)
        self.threshold = threshold
        self.capacity = capacity
        self.implied = implied
        self.deadline = deadline
        self.rows = np.zeros((0, self.width + capacity), dtype=np.int64)
        self.pivots: list[int] = []

    # --- vectors ---------------------------------------------------------------------------------------------

    def vector(self, mask: np.ndarray, index: int | None = None) -> np.ndarray:
        """A row set as a 0/1 vector over atoms (in this span's column order), with its index among the registered."""
        vector = np.zeros(self.width + self.capacity, dtype=np.int64)
        vector[self.position[np.unique(self.atom[np.asarray(mask, dtype=bool)])]] = 1
        if index is not None and self.capacity:
            vector[self.width + index] = 1
        return vector

    def reduce(self, vector: np.ndarray) -> np.ndarray:
        if not self.pivots:
            return vector % P
        coefficients = vector[self.pivots] % P
        if not coefficients.any():
            return vector % P
        if coefficients.max() <= 1:  # a 0/1 vector (a registered row set): the sum of at most rank residues fits in int64
            return (vector - (coefficients @ self.rows) % P) % P
        return (vector - dot(coefficients, self.rows)) % P

    def add(self, reduced: np.ndarray) -> None:
        """Take a reduced vector into the basis (its pivot: the first big atom it touches, else the first small one)."""
        atoms = reduced[: self.width]
        touched = np.nonzero(atoms)[0]
        if len(touched) == 0:
            return
        pivot = int(touched[0])
        row = (reduced * inverse(atoms[pivot])) % P
        if len(self.rows):
            factors = self.rows[:, pivot].copy()
            if np.any(factors):
                self.rows = (self.rows - np.outer(factors, row) % P) % P
        self.rows = np.vstack([self.rows, row])
        self.pivots.append(pivot)

    def register(self, vector: np.ndarray) -> None:
        """Add a vector without checking it (a cell released before: its check was made when it was released)."""
        self.add(self.reduce(vector))

    # --- the check -------------------------------------------------------------------------------------------

    def check(self, vector: np.ndarray) -> Verdict:
        """Whether registering `vector` keeps every combination that uses it on at least `threshold` records, and (when
        it adds nothing on the records) whether the combination it equals there tells anything `implied` refuses.
        Does not register it."""
        reduced = self.reduce(vector)
        atoms = reduced[: self.width]
        if not np.any(atoms):
            block = reduced[self.width :]
            if self.implied is not None and np.any(block):
                reason = self.implied({int(i): int(block[i]) for i in np.flatnonzero(block)})
                if reason:
                    return Verdict(False, reason, 0)
            return Verdict(True)
        if np.any(atoms[: self.big]):
            return Verdict(True)  # every combination with it covers a big atom no other row can cancel
        if self._witnessed(atoms):
            return Verdict(True)
        found = self._search(atoms[self.big :])
        if found is not None:
            return Verdict(False, f"with earlier cells it singles out a group of {found} record(s)", found)
        return Verdict(True)

    def _witnessed(self, atoms: np.ndarray) -> bool:
        """A cheap proof that no combination with the new vector is small: disjoint sets of atoms, each holding a
        vector y that every registered row is orthogonal to but the new one is not (so every combination with the new
        vector is nonzero somewhere in each set). Twins first: two atoms that every row treats alike and the new vector
        does not are such a set."""
        columns = np.vstack([atoms[None, :], self.rows[:, : self.width]]) if len(self.rows) else atoms[None, :]
        order = _twins_first(columns, self.weights)
        return _witness_bound(columns, self.weights, order, self.threshold - 1, self.deadline) > self.threshold - 1

    def _search(self, constant: np.ndarray) -> int | None:
        """The fewest records on which q′ + Σ αᵢ·rowᵢ (rows pivoted on small atoms) can be nonzero, when under the
        threshold; None when every such vector covers at least `threshold` records."""
        small_rows = [i for i, pivot in enumerate(self.pivots) if pivot >= self.big]
        forms = self.rows[small_rows][:, self.big : self.width] if small_rows else np.zeros((0, len(constant)), dtype=np.int64)
        search = _Search(self.threshold - 1, self.deadline)
        return search.run(forms, constant.copy(), self.weights[self.big :].copy())

    def would_imply(self, vector: np.ndarray, protected: np.ndarray) -> bool:
        """Whether the span with `vector` added holds `protected` (a suppressed cell's row set)."""
        target = self.reduce(protected)[: self.width]
        if not np.any(target):
            return True  # already implied by what was released before
        reduced = self.reduce(vector)[: self.width]
        touched = np.nonzero(reduced)[0]
        if len(touched) == 0:
            return False
        j = int(touched[0])
        factor = (int(target[j]) * inverse(reduced[j])) % P
        return bool(np.array_equal(target, (reduced * factor) % P))

    def snapshot(self):
        return self.rows.copy(), list(self.pivots)

    def restore(self, saved) -> None:
        self.rows, self.pivots = saved[0].copy(), list(saved[1])


class _Search:
    """Branch and bound: is there α with Σ over atoms j where cⱼ + Σᵢ αᵢ·Mᵢⱼ ≠ 0 of wⱼ at most `budget`?

    Forms are the columns (cⱼ, M·ⱼ). A form whose weight exceeds what is left must be zero (a linear constraint that
    removes one unknown); otherwise the heaviest form branches: zero, or paid. Parallel forms merge (their weights
    add). The bound: disjoint sets of forms that cannot all be zero for any α (`_witness_blocks`) stay so under every
    constraint below, so each set none of whose forms is paid yet still costs its lightest remaining form, and a set
    whose forms were all set to zero makes the branch impossible; sets are found afresh at each node and handed down."""

    def __init__(self, budget: int, deadline: float | None):
        self.budget = budget
        own = time.monotonic() + SEARCH_SECONDS
        self.deadline = own if deadline is None else min(deadline, own)
        self.nodes = 0
        self.best: int | None = None
        self.atom_weights = np.zeros(0, dtype=np.int64)

    def run(self, forms: np.ndarray, constant: np.ndarray, weights: np.ndarray) -> int | None:
        forms, constant = forms % P, constant % P
        self.atom_weights = weights.copy()
        ids = [np.array([j]) for j in range(len(weights))]
        marks = np.zeros(len(weights), dtype=np.int8)  # 1: paid, 2: set to zero
        self._node(forms, constant, weights.copy(), ids, marks, 0, [])
        return self.best

    def _tick(self) -> None:
        self.nodes += 1
        if self.nodes > NODE_BUDGET or (self.deadline is not None and time.monotonic() > self.deadline):
            raise Exhausted(f"the audit's search passed {NODE_BUDGET} steps or {SEARCH_SECONDS:.0f} s")

    def _bound(self, marks: np.ndarray, blocks: list) -> int | None:
        total = 0
        for block in blocks:
            states = marks[block]
            if np.any(states == 1):
                continue
            open_ = block[states == 0]
            if len(open_) == 0:
                return None  # every form of a set that cannot all be zero was set to zero: impossible
            total += int(self.atom_weights[open_].min())
        return total

    def _node(self, forms, constant, weights, ids, marks, paid, blocks) -> None:
        self._tick()
        marks = marks.copy()
        while True:
            fixed = ~np.any(forms, axis=0)
            for j in np.nonzero(fixed)[0]:
                marks[ids[j]] = 1 if constant[j] != 0 else 2
            paid += int(weights[fixed & (constant != 0)].sum())
            keep = ~fixed
            forms, constant, weights = forms[:, keep], constant[keep], weights[keep]
            ids = [ids[j] for j in np.nonzero(keep)[0]]
            if paid > self.budget:
                return
            if forms.shape[1] == 0:
                self._found(paid)
                return
            forms, constant, weights, ids = _merge_parallel(forms, constant, weights, ids)
            heavy = np.nonzero(weights > self.budget - paid)[0]
            if len(heavy) == 0:
                break
            j = int(heavy[0])
            marks[ids[j]] = 2
            zeroed = _zero(forms, constant, weights, j)  # must be zero: too heavy to pay
            if zeroed is None:
                return
            forms, constant, weights = zeroed
            ids = ids[:j] + ids[j + 1 :]
        bound = self._bound(marks, blocks)
        if bound is None or paid + bound > self.budget:
            return
        augmented = np.vstack([constant[None, :], forms])
        _, fresh = _witness_blocks(augmented, weights, np.argsort(-weights, kind="stable"), self.budget - paid, self.deadline)
        blocks = [np.concatenate([ids[f] for f in block]) for block in fresh]
        bound = self._bound(marks, blocks)
        if bound is None or paid + bound > self.budget:
            return
        j = int(np.argmax(weights))
        rest = ids[:j] + ids[j + 1 :]
        zeroed = _zero(forms, constant, weights, j)
        if zeroed is not None:
            branch = marks.copy()
            branch[ids[j]] = 2
            self._node(*zeroed, rest, branch, paid, blocks)
            if self.best is not None:
                return
        keep = np.ones(len(weights), dtype=bool)
        keep[j] = False
        branch = marks.copy()
        branch[ids[j]] = 1
        self._node(forms[:, keep], constant[keep], weights[keep], rest, branch, paid + int(weights[j]), blocks)

    def _found(self, paid: int) -> None:
        if paid > 0 and (self.best is None or paid < self.best):
            self.best = paid


def _echelon(matrix: np.ndarray, order: np.ndarray | None = None) -> tuple[np.ndarray, list[int]]:
    """Row echelon form over GF(p) with its pivot columns, taking pivot columns in `order`."""
    rows = matrix.copy() % P
    pivots: list[int] = []
    r = 0
    columns = order if order is not None else range(rows.shape[1])
    for j in columns:
        if r == rows.shape[0]:
            break
        nonzero = np.nonzero(rows[r:, j])[0]
        if len(nonzero) == 0:
            continue
        i = r + int(nonzero[0])
        if i != r:
            rows[[r, i]] = rows[[i, r]]
        rows[r] = (rows[r] * inverse(rows[r, j])) % P
        below = rows[r + 1 :, j].copy()
        if np.any(below):
            rows[r + 1 :] = (rows[r + 1 :] - np.outer(below, rows[r]) % P) % P
        pivots.append(int(j))
        r += 1
    return rows[:r], pivots


def _merge_parallel(forms: np.ndarray, constant: np.ndarray, weights: np.ndarray, ids: list):
    """Forms that are multiples of each other are zero together: one form carrying their summed weight and atoms."""
    augmented = np.vstack([constant[None, :], forms])  # (k+1) x m
    first = np.argmax(augmented != 0, axis=0)
    scale = inverses(augmented[first, np.arange(augmented.shape[1])])
    normal = (augmented * scale[None, :]) % P
    unique, index, inverse_index = np.unique(normal.T, axis=0, return_index=True, return_inverse=True)
    if len(unique) == normal.shape[1]:
        return forms, constant, weights, ids
    inverse_index = inverse_index.reshape(-1)
    summed = np.zeros(len(unique), dtype=np.int64)
    np.add.at(summed, inverse_index, weights)
    order = np.argsort(inverse_index, kind="stable")
    bounds = np.searchsorted(inverse_index[order], np.arange(len(unique) + 1))
    merged = [np.concatenate([ids[j] for j in order[bounds[g] : bounds[g + 1]]]) for g in range(len(unique))]
    return forms[:, index], constant[index], summed, merged


def _zero(forms: np.ndarray, constant: np.ndarray, weights: np.ndarray, j: int):
    """The forms once form j is set to zero (one unknown eliminated; form j dropped); None when it cannot be zero."""
    column = forms[:, j]
    nonzero = np.nonzero(column)[0]
    keep = np.ones(len(weights), dtype=bool)
    keep[j] = False
    if len(nonzero) == 0:
        return None if constant[j] != 0 else (forms[:, keep], constant[keep], weights[keep])
    row = int(nonzero[0])
    factor = (forms[row] * inverse(column[row])) % P  # that row scaled so that its entry in column j is 1
    constant = (constant - (factor * int(constant[j])) % P) % P
    forms = (forms - np.outer(column, factor) % P) % P
    forms = np.delete(forms, row, axis=0)
    return forms[:, keep], constant[keep], weights[keep]


def dot(coefficients: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """coefficients @ matrix over GF(p), exactly. Up to 2¹¹ terms a sum: the coefficients in three 11-bit limbs and
    BLAS in float64 (each product < 2⁴², each sum < 2⁵³); beyond, int64 in two 16-bit halves."""
    if matrix.shape[0] <= 2048:
        floats = matrix.astype(np.float64)
        total = np.zeros(coefficients.shape[:-1] + matrix.shape[1:], dtype=np.int64)
        for shift in (0, 11, 22):
            limb = ((coefficients >> shift) & 0x7FF).astype(np.float64)
            part = np.fmod(limb @ floats, P).astype(np.int64)
            total = (total + (part << shift) % P) % P
        return total
    high, low = coefficients >> 16, coefficients & 0xFFFF
    return ((((high @ matrix) % P) * 65536) % P + (low @ matrix) % P) % P


def _witness_bound(columns: np.ndarray, weights: np.ndarray, order: np.ndarray, enough: int, deadline: float | None) -> int:
    return _witness_blocks(columns, weights, order, enough, deadline)[0]


def _witness_blocks(columns: np.ndarray, weights: np.ndarray, order: np.ndarray, enough: int, deadline: float | None):
    """Row 0 of `columns` is a constant (or the new vector), rows 1.. the unknowns' coefficients (or the registered
    rows). A set of columns whose span holds the unit vector e₀ cannot all be zero for any choice of the unknowns
    (the constant coordinate of (1, α) would have to vanish), so one of them is paid. Greedy disjoint such sets, taken
    in `order`, each add their lightest weight; columns that add nothing to a set wait for the next. Stops once the
    bound passes `enough`. Returns the bound and the sets."""
    size = columns.shape[0]
    batch_size = 128
    bound = 0
    blocks: list[np.ndarray] = []
    pending = np.asarray(order, dtype=np.int64)
    while len(pending):
        if deadline is not None and time.monotonic() > deadline:
            raise Exhausted("the audit ran past its time")
        basis = np.zeros((0, size), dtype=np.int64)  # fully reduced: each row zero at the other rows' pivots
        pivots: list[int] = []
        residue = np.zeros(size, dtype=np.int64)  # e₀ reduced by the basis
        residue[0] = 1
        members: list[int] = []
        closed = False
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            block = columns[:, batch] % P
            if pivots:
                block = (block - dot(block[pivots].T, basis).T) % P
            i = 0
            while i < block.shape[1]:
                independent = np.flatnonzero(block[:, i:].any(axis=0))
                if len(independent) == 0:
                    break
                i += int(independent[0])
                column = block[:, i]
                pivot = int(np.flatnonzero(column)[0])
                column = (column * inverse(column[pivot])) % P
                factors = basis[:, pivot]
                if np.any(factors):
                    basis = (basis - np.outer(factors, column) % P) % P
                basis = np.vstack([basis, column])
                pivots.append(pivot)
                members.append(start + i)
                residue = (residue - int(residue[pivot]) * column) % P
                if not residue.any():
                    closed = True
                    break
                rest = block[pivot, i + 1 :]
                if np.any(rest):
                    block[:, i + 1 :] = (block[:, i + 1 :] - np.outer(column, rest) % P) % P
                i += 1
            if closed:
                break
        if not closed:
            break
        chosen = pending[members]
        bound += int(weights[chosen].min())
        blocks.append(chosen)
        if bound > enough:
            break
        keep = np.ones(len(pending), dtype=bool)
        keep[members] = False
        pending = pending[keep]
    return bound, blocks


def _twins_first(columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Atoms ordered so that atoms with the same registered-row columns (row 1..) sit together, heaviest first within;
    groups whose new-vector entries (row 0) differ come first, since a pair of them already closes a set."""
    if columns.shape[0] <= 1:
        return np.argsort(-weights, kind="stable")
    _, group = np.unique(columns[1:].T, axis=0, return_inverse=True)
    group = group.reshape(-1)
    differs = np.zeros(group.max() + 1, dtype=bool)
    first = np.full(group.max() + 1, -1, dtype=np.int64)
    for j, g in enumerate(group):
        if first[g] < 0:
            first[g] = columns[0, j]
        elif columns[0, j] != first[g]:
            differs[g] = True
    return np.lexsort((-weights, group, ~differs[group]))
