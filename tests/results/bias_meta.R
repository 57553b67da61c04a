# Reference values for tests/test_bias.py: random-effects synthesis of within-group ds (Paule-Mandel),
# as analysis.bias.placebo_prior does with statsmodels. Run: Rscript tests/results/bias_meta.R
library(metafor)
cases <- list(
  two = list(d = c(1.2, 1.164044943820225), n = c(45, 52)),
  three = list(d = c(1.2, 0.6, 0.9), n = c(45, 30, 60))
)
for (name in names(cases)) {
  d <- cases[[name]]$d
  n <- cases[[name]]$n
  v <- 1 / n + d^2 / (2 * n)
  fit <- rma(yi = d, vi = v, method = "PM")
  cat(sprintf("%s mean=%.12f se=%.12f tau2=%.12f\n", name, fit$b[1], fit$se, fit$tau2))
}
