"""Replicas: many copies of one architecture, each with its own seed, data and settings,
trained as one vectorised model.

A fair comparison trains every arm over many seeds and every setting of its tuning grid.
Trained one after another, each small model pays Python's per-step cost again.
`fit_replicas` stacks R models' parameters into tensors with a replica axis
(`torch.func.stack_module_state`) and runs one replica's forward pass and losses under
`torch.func.vmap`, so that a step of R models costs one call per operation. Each replica
keeps its own minibatch order, learning rate, weight decay, loss weights, penalty
strength, early stopping, restored weights and history, and ends where `fit` would have
ended it (up to the order of floating-point sums). A replica that early stopping has
stopped leaves the stack, so a stack costs what its running replicas cost and ends with
the last to stop (the others' results unchanged, bit for bit).

    build = lambda: mt.hard_sharing(10, (64, 16), tasks)
    models, streams = mt.seeded_models(build, seeds)  # one model per seed
    histories = mt.fit_replicas(models, data, generators=streams, lr=[1e-2, 3e-3] * 10)
"""
import torch

from .loop_parts import EarlyStopping, EpochLosses, History, clear_errors, epoch_bar
from .losses import equal_weights
from .replica_data import ReplicaSplit
from .replica_stack import Replica, ReplicaStack, options_of
from .runtime import get_device, set_seed
from .train import check_fit, fit


def seeded_models(build, seeds, device=None):
    """One model per seed, each built right after `set_seed(seed)`, and for each a random
    generator in the state a sequential `fit` would go on to draw its minibatch order from:
    pass both to `fit_replicas` and replica r trains exactly as `set_seed(seeds[r]);
    model = build(); fit(model, ...)` would."""
    device = torch.device(device or get_device())
    models, generators = [], []
    for seed in seeds:
        set_seed(seed)
        models.append(build())
        generator = torch.Generator(device=device)
        generator.set_state(torch.cuda.get_rng_state(device) if device.type == "cuda"
                            else torch.get_rng_state())
        generators.append(generator)
    return models, generators


def per_replica(value, replicas: int, name: str) -> list:
    """`value` for each replica: a list of `replicas` values as it is, else one repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != replicas:
            raise ValueError(f"{name} has {len(value)} values for {replicas} replicas; give "
                             "one value, or one per replica.")
        return list(value)
    return [value] * replicas


def fit_replicas(models: list, data, *, epochs: int = 100, lr=1e-2, batch_size: int = 32,
                 weight_decay=0.0, weighting=equal_weights, penalty=None, penalty_weight=1.0,
                 patience: int | None = None, restore_best: bool = True, monitor=None,
                 generators=None, vectorise: bool = True, progress: bool = True,
                 device=None) -> list:
    """Train each of `models` (copies of one architecture) as `fit` would, all at once.

    data: one `MultiTaskData` for every replica, or a list with one per replica (the same
    shapes). lr, weight_decay, weighting and penalty_weight: one value, or a list with one
    per replica; a weighting is `mt.weighting.equal_weights`, an `mt.FixedWeights` or a learned
    weighting module (a list: one per replica). penalty: a function of a model returning
    the number to add to its loss, times its replica's `penalty_weight`; e.g.
    `lambda m: mt.sharing_penalty(m.branches, l2=1.0)()`. generators: one random generator
    per replica for its minibatch order (from `seeded_models`); by default each is seeded
    from the global one. Other arguments as in `fit`.

    Returns one history per replica, as `fit` returns; each model ends with its own
    restored weights. With vectorise=False the replicas train one after another through
    `fit`, with the same results up to the order of floating-point sums.
    """
    R = len(models)
    if R == 0:
        raise ValueError("fit_replicas needs at least one model.")
    datas = per_replica(data, R, "data")
    lrs, wds = per_replica(lr, R, "lr"), per_replica(weight_decay, R, "weight_decay")
    weightings = per_replica(weighting, R, "weighting")
    strengths = per_replica(penalty_weight, R, "penalty_weight")
    for model, d, w, rate in zip(models, datas, weightings, lrs):
        check_fit(model, d, w, None, rate, epochs, batch_size, patience,
                  monitor(d) if callable(monitor) else monitor)
    if penalty is not None and not callable(penalty):
        raise TypeError(f"penalty must be a function of a model (e.g. lambda m: "
                        f"mt.sharing_penalty(m.branches, l2=1.0)()), got {penalty!r}.")
    device = torch.device(device or get_device())
    if generators is None:
        seeds = torch.randint(2**62, (R,)).tolist()
        generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
    generators = per_replica(generators, R, "generators")
    settings = dict(epochs=epochs, batch_size=batch_size, patience=patience,
                    restore_best=restore_best, monitor=monitor, progress=progress)
    if not vectorise:
        return [_fit_one(m, d, g, rate, wd, w, penalty, s, device, settings)
                for m, d, g, rate, wd, w, s in
                zip(models, datas, generators, lrs, wds, weightings, strengths)]
    replicas = [Replica(m, w, penalty, datas[0].tasks, datas[0].missing_labels).to(device)
                for m, w in zip(models, weightings)]
    options = [options_of(*args, device) for args in zip(replicas, lrs, wds)]
    # neighbours with the same optimiser options share one Adam group: order by them
    order = sorted(range(R), key=lambda r: [g[1:] for g in options[r]])
    histories = _fit_vectorised([replicas[r] for r in order], [datas[r] for r in order],
                                [generators[r] for r in order], [options[r] for r in order],
                                [weightings[r] for r in order], [strengths[r] for r in order],
                                device, settings)
    result = [None] * R
    for position, r in enumerate(order):
        result[r] = histories[position]
    return result


def _fit_one(model, data, generator, lr, weight_decay, weighting, penalty, strength, device,
             settings):
    """One replica through `fit`, its minibatch order drawn from its own generator."""
    if device.type == "cuda":
        torch.cuda.set_rng_state(generator.get_state(), device)
    else:
        torch.set_rng_state(generator.get_state())
    term = None if penalty is None else (lambda: strength * penalty(model))
    return fit(model, data, lr=lr, weight_decay=weight_decay, weighting=weighting,
               penalty=term, device=device, **settings)


def _fit_vectorised(replicas, datas, generators, options, weightings, penalty_weights,
                    device, settings):
    """The loop of `fit`, on a stack of replicas; the epoch's work is the same. Replicas
    that early stopping has stopped leave the stack (`_drop_stopped`), so that training
    ends as soon as the last one stops and costs what the running ones cost."""
    stack = ReplicaStack(replicas, options, weightings, penalty_weights, device)
    train = ReplicaSplit([d.train for d in datas], device)
    val = None if datas[0].val is None else ReplicaSplit([d.val for d in datas], device)
    bar = epoch_bar(settings["epochs"], settings["progress"])
    names = datas[0].names
    monitor = settings["monitor"]  # one per replica where it is a function of the data
    monitors = [monitor(d) for d in datas] if callable(monitor) else monitor
    history = History(names, monitors, len(replicas), lr=options[0][0][1])
    stopping = EarlyStopping(stack.state, settings["patience"], settings["restore_best"])
    whole = stopping.state  # every replica's tensors, running or stopped
    live = torch.arange(len(replicas), device=device)  # the replicas in the stack
    with clear_errors(names, history):
        for epoch in bar:
            stack.set_mode(True)
            epoch_losses = EpochLosses()
            streams = [generators[r] for r in live.tolist()]
            for x, y, n in train.batches(settings["batch_size"], streams):
                losses, loss = stack(x, y)  # every replica's forward and losses, at once
                stack.zero_grad()
                stack.backward(losses, loss)  # each replica's own gradients
                stack.step()  # Adam, with each replica's learning rate and weight decay
                epoch_losses.add(losses, n)
            stack.set_mode(False)
            val_losses = None if val is None else stack.validation_losses(val)
            trains, monitored = history.add(
                epoch, _spread(epoch_losses.mean(), live, len(replicas)),
                None if val_losses is None else _spread(val_losses, live, len(replicas)),
                active=stopping.active.tolist())
            stack.epoch_end(trains)  # DWA's weights follow each replica's losses
            bar.set_postfix(training=int(stopping.active.sum()))
            _gather(whole, stack.state, live)
            if val is not None and stopping.update(epoch, monitored):
                break
            live = _drop_stopped(stack, train, val, stopping, live)
    _gather(whole, stack.state, live)
    stopping.restore()
    stack.write_back(whole)
    return history.tables(stopping)


def _spread(values: torch.Tensor, live: torch.Tensor, replicas: int) -> torch.Tensor:
    """The stack's per-replica values in the rows of all `replicas` (NaN for those that
    have left it: early stopping and the history read no more of them)."""
    if len(live) == replicas:
        return values
    out = values.new_full((replicas, *values.shape[1:]), float("nan"))
    return out.index_copy_(0, live, values)


@torch.no_grad()
def _gather(whole: dict, state: dict, live: torch.Tensor) -> None:
    """Copy the stack's live tensors into the rows `live` of every replica's tensors."""
    for name, tensor in whole.items():
        if state[name] is not tensor:
            tensor.index_copy_(0, live, state[name])


def _drop_stopped(stack, train, val, stopping, live: torch.Tensor) -> torch.Tensor:
    """Once a replica has stopped, cut the stack, its data and its minibatch streams
    down to the replicas still training (their arithmetic unchanged: the same results
    bit for bit); returns the replicas the stack now holds."""
    running = stopping.active[live]
    if not stack.can_drop() or running.all() or not running.any():
        return live
    index = running.nonzero().flatten()
    stack.keep(index)
    train.keep(index)
    if val is not None:
        val.keep(index)
    return live[index]
