"""The interface both twins implement, one class per library (twins/numpy_twin.py,
twins/torch_twin.py): what the training loop, the commands and the tests may ask of a twin."""


class TwinError(Exception):
    """A twin that cannot run as asked (no GPU, no CuPy): the message says why, in one line."""


class Twin:
    """A library's way of building, training and reading the networks of a params dict
    ({name: NumPy array} in the weights contract: W1, b1, ..., a CNN's C1, c1, ... first).
    `name` is "numpy" or "torch"; `device` "cpu" or "cuda"."""
    name = device = None

    def build(self, params, loss="ce", arch=None, activation="relu", dropout=0.0):
        """The network of params (copied onto this twin's device; batch norm's statistics among
        them): a CNN of `arch` (nets.shapes.Arch) when params hold kernels, else an MLP (the
        lesson's, mlp_np/mlp_torch, when it has ReLU and neither batch norm nor dropout);
        trained with `loss`, with the activation called `activation` and dropout of rate
        `dropout` on its hidden layers."""
        raise NotImplementedError

    def clone(self, model):
        """A new network with model's weights (copies) and structure."""
        return self.build(self.export(model), model.loss, getattr(model, "arch", None),
                          getattr(model, "activation", "relu"), getattr(model, "dropout", 0.0))

    def asarray(self, a):
        """A NumPy array as this twin's array, on its device."""
        raise NotImplementedError

    def to_numpy(self, a):
        """This twin's array (any device) as a NumPy array."""
        raise NotImplementedError

    def export(self, model):
        """The weights and batch norm's statistics as {name: NumPy array} (copies), keys as the
        weights contract's."""
        return {k: self.to_numpy(v).copy() for k, v in {**model.params,
                                                       **self.buffers(model)}.items()}

    def buffers(self, model):
        """{name: array} of model's batch norm statistics (none for a network without)."""
        raise NotImplementedError

    def logits(self, model, x):
        """x (B, D) on this twin's device -> logits (B, classes), in evaluation mode (batch
        norm's running statistics, no dropout)."""
        raise NotImplementedError

    def loss_and_grads(self, model, x, y, smoothing=0.0, masks=None, training=True):
        """x (B, D), y (B,) NumPy -> (mean loss as a float, {name: gradient as NumPy}), in
        training mode unless training=False; masks: dropout masks (NumPy, as
        datasets.catalog.dropout_masks gives them)."""
        raise NotImplementedError

    def train_step(self, model, x, y, optimizer, smoothing=0.0, masks=None):
        """One step of minibatch training on (x, y), on this twin's device, in training mode;
        masks: the step's dropout masks on this device, or None. Returns the loss before the
        update (a device scalar)."""
        raise NotImplementedError

    def optimizer(self, model, name, lr, momentum=0.9, weight_decay=0.0):
        """The optimizer called `name` (sgd, momentum, adam, adamw) over model's params, with
        torch.optim's update rules."""
        raise NotImplementedError

    def set_lr(self, optimizer, lr):
        """The learning rate of the optimizer's next steps."""
        raise NotImplementedError

    def average(self, model, average=None):
        """The weight average of model, starting at its weights or at `average` ({name: NumPy
        array}, from a checkpoint): .model, .update(model, decay), .copy_to(model). Batch norm's
        running statistics are averaged as the weights are (as torch's AveragedModel does with
        use_buffers=True, timm's ModelEmaV2 likewise); its batch count is copied."""
        raise NotImplementedError

    def optimizer_state(self, optimizer, model):
        """The optimizer's state in the checkpoint form, torch's names, NumPy arrays keyed by
        weight name: Adam {"step": t, "exp_avg": {...}, "exp_avg_sq": {...}}; SGD with
        momentum {"momentum_buffer": {...}}; plain SGD {}."""
        raise NotImplementedError

    def load_optimizer_state(self, optimizer, model, state):
        """Continue from optimizer_state() of either twin."""
        raise NotImplementedError
