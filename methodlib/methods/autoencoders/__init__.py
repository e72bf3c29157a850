"""The adversarial and autoencoding family: generators with an encoder, trained adversarially
(`pagan`, `ali`) or by the ELBO (`vae`); they sample and also reconstruct."""
