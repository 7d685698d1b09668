"""One split-learning step with the cut made explicit.

The client half and the server half only exchange tensors: the client sends
its cut-layer activations (detached: no autograd graph crosses the cut), the
server makes them a leaf that requires grad, runs forward, loss and backward,
steps its optimiser and sends back the gradient of the loss with respect to
the activations; the client back-propagates that gradient through its own
half and steps. :class:`ClientHalf` and :class:`ServerHalf` hold each side's
state so that nothing but the two messages passes between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from decentralml.errors import TrainingError


@dataclass
class ClientHalf:
    """The contributor's side: the layers before the cut and their optimiser."""

    model: Any
    optimizer: Any
    _pending: Any = field(default=None, repr=False)

    def forward(self, inputs: Any) -> Any:
        """Run the client layers; return the activations to send (detached copy)."""
        self.optimizer.zero_grad()
        self._pending = self.model(inputs)
        return self._pending.detach().clone()

    def backward(self, activation_grad: Any) -> None:
        """Back-propagate the server's gradient through the client layers and step."""
        if self._pending is None:
            raise TrainingError("Split step out of order: the client got a gradient before sending activations.")
        if activation_grad.shape != self._pending.shape:
            raise TrainingError("The gradient returned across the cut does not match the activations' shape.")
        self._pending.backward(activation_grad)
        self._pending = None
        self.optimizer.step()


@dataclass
class ServerHalf:
    """The side after the cut: the remaining layers, the loss and their optimiser."""

    model: Any
    optimizer: Any
    loss_fn: Any

    def step(self, activations: Any, labels: Any) -> tuple[float, Any, int]:
        """Train on received activations; return ``(loss, activation gradient, correct predictions)``."""
        self.optimizer.zero_grad()
        received = activations.detach().requires_grad_(True)
        outputs = self.model(received)
        loss = self.loss_fn(outputs, labels)
        loss.backward()
        self.optimizer.step()
        correct = int((outputs.argmax(dim=1) == labels).sum().item())
        return float(loss.item()), received.grad.detach().clone(), correct


def split_step(client: ClientHalf, server: ServerHalf, inputs: Any, labels: Any) -> tuple[float, int]:
    """One batch across the cut: client forward, server forward/backward, client backward."""
    activations = client.forward(inputs)
    loss, gradient, correct = server.step(activations, labels)
    client.backward(gradient)
    return loss, correct
