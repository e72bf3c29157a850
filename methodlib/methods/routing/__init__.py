"""The routing family: `reset` (Kemaev, Polykovskiy, Vetrov 2018), a residual network that
routes every input recurrently through a shared set of units chosen by a learned controller,
and `resnet_fixed`, the fixed-depth residual network with the same units it is compared with."""
