"""What every kept set of lab answers uses (tests/test_lab_*answers.py): the judge that runs
a check on an answer and returns whether it passed with what it printed, and the two
"no answer yet" stubs a student's notebook can hold."""


def judge(capsys, check, *args):
    ok = check(*args)
    return bool(ok), capsys.readouterr().out


def _stub(*args):
    raise NotImplementedError("Exercise: write your answer here, then run the check.")


def _ellipsis(*args):
    ...  # what Otter's student version leaves in place of the solution
