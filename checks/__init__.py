"""Checks of hand-written backward passes: gradcheck.py holds a layer's gradients against torch
autograd and finite differences; layers.py states every layer of the project in its contract;
example_layer.py is a student's layer as the contract wants it."""
