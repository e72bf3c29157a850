"""The diffusion family: `ddpm` and the star-shaped `ss_ddpm` with its noise families on
constrained domains (`star_families`)."""
