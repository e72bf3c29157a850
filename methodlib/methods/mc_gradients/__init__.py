"""Monte Carlo gradient estimation (Mohamed, Rosca, Figurnov & Mnih 2020, JMLR; reference code
google-deepmind/mc_gradients): the score-function, pathwise and measure-valued estimators of
∇_θ E_{N(μ, σ²)}[f(x)] (`estimators.py`), and Bayesian logistic regression trained by
stochastic ELBO ascent with each of them (`bayes_logreg.py`)."""
