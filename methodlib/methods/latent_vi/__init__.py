"""VAEs on binarised images with richer inference or objectives: the Gaussian-encoder
baseline, the VampPrior, semi-implicit encoders (SIVI, IWHVI) and robust VI."""
