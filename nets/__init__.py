"""The networks beyond the MLP of mlp_np.py / mlp_torch.py, and what they are built from: the
layers written by hand (layers_np.py) and their torch counterparts (layers_torch.py), the CNN
twins (cnn_np.py, cnn_torch.py), and the arithmetic of shapes both twins share (shapes.py)."""
