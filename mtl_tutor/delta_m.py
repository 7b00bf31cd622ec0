"""Delta_m: one number for how a method does on tasks of different scales, the mean of
each task's relative change of error against a reference (Maninis et al. 2019)."""
import pandas as pd


def delta_m(errors, reference) -> float:
    """Delta_m: the mean over tasks of each task's relative change of error against a
    reference (usually STL), (error - reference) / reference, as a fraction: -0.05 means
    5 % lower errors on average, whatever each task's scale (Maninis et al. 2019).

    errors, reference: per-task errors (a dict or a Series indexed by task name, e.g.
    `mt.evaluate(model, data)["error"]`), lower is better, for the same tasks.
    """
    errors, reference = pd.Series(errors, dtype=float), pd.Series(reference, dtype=float)
    if set(errors.index) != set(reference.index):
        raise ValueError(f"delta_m: the errors are for tasks {sorted(errors.index)} but the "
                         f"reference for {sorted(reference.index)}; pass the same tasks.")
    if not (reference > 0).all():
        raise ValueError("delta_m: every reference error must be positive, got "
                         f"{reference.to_dict()}.")
    return float(((errors - reference[errors.index]) / reference[errors.index]).mean())


def delta_m_per_run(table: pd.DataFrame, between: str, reference, errors: str = "task errors",
                    on=("seed",)) -> pd.Series:
    """`delta_m` of every row of a results table against the row of the same run (the same
    values of the `on` columns, e.g. seed and relatedness) whose `between` column is
    `reference` (e.g. "STL"). `errors` names a column of per-task error dicts.
    Returns a Series aligned with `table`, ready for `paired`."""
    on = [on] if isinstance(on, str) else list(on)
    missing = [c for c in [between, errors, *on] if c not in table.columns]
    if missing:
        raise ValueError(f"delta_m_per_run: the table has no column(s) {missing}; its "
                         f"columns are {list(table.columns)}.")
    ref = table[table[between] == reference].set_index(on)[errors]
    if ref.empty or not ref.index.is_unique:
        raise ValueError(f"delta_m_per_run: need exactly one {between} == {reference!r} row "
                         f"per run of {on}; found {len(ref)} rows for "
                         f"{ref.index.nunique()} runs.")
    runs = table[on].itertuples(index=False, name=None)
    return pd.Series([delta_m(e, ref.loc[run if len(on) > 1 else run[0]])
                      for e, run in zip(table[errors], runs)], index=table.index)
