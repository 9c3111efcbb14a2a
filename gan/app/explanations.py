"""Short explanations shown beside the charts, sliders and metrics, written for someone who
knows what a neural network is but not a GAN."""

DIRECTIONS = ("**Directions 1-8** move every digit's noise vector z along the directions that change the "
              "pictures most (found by PCA of generated images, GANSpace-style): 1 changes them most, 8 least.")
RAW = "Move z's first 8 coordinates directly instead: shows how little one raw dimension means."
