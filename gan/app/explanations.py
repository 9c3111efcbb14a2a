"""Short explanations shown beside the charts, sliders and metrics, written for someone who
knows what a neural network is but not a GAN."""

DIRECTIONS = ("**Directions 1-8** move every digit's noise vector z along the directions that change the "
              "pictures most (found by PCA of generated images, GANSpace-style): 1 changes them most, 8 least.")
RAW = "Move z's first 8 coordinates directly instead: shows how little one raw dimension means."
SEED = "The random numbers (z) behind the digits: the same seed always draws the same digits."
DIGIT = "Conditional models (cgan) are told which digit to draw; the others draw whatever z gives."

EXPLORE = """
**A GAN** is two networks trained against each other: the *generator* G turns random noise z into
a picture; the *discriminator* D looks at a picture and says how likely it is a real MNIST digit.
G improves by fooling D, D by not being fooled.

**FID** (Fréchet distance) compares the statistics of 10,000 generated digits with 10,000 real
test digits, in the feature space of a digit classifier: 0 would be identical. **The floor** is the
FID of 10,000 *real training* digits against the test digits, the best any model can do here, so
"5x floor" means five times the distance two real samples have. **Modes**: how many of the ten
digits make up at least 5 % of the samples (10 = nothing missing; fewer = *mode collapse*, the
generator found a few digits that fool D and stopped drawing the rest). **Classifier score**: how
sure the classifier is about each digit and how varied they are (real MNIST: 9.8 of 10).
**Precision / recall**: how many generated digits look like real ones / how much of the real
variety the generator covers.

**The probe** asks a discriminator how real your drawing looks: a run's own D, or for a shipped
model a D fitted to it (the original D was not kept).
"""

TRAIN = """
**Fixed-noise samples**: the same 100 noise vectors drawn by G as it learns (the first picture is
G before any step: noise). For a conditional model each column is one digit. In the first few
hundred steps the pictures in a column often look almost the same: G first learns the one "average"
digit that fools a young D, and uses its noise z to vary that digit only later, as D starts
rejecting fakes that all look alike.
**Losses**: D's loss falls when it tells real from fake, G's when it fools D. They do not go to 0
together: a healthy run sees both wobble around a balance; D's loss near 0 with G's rising
means D has won and G gets little to learn from.
**D(x) and D(G(z))**: D's average "real" score for real digits and for G's digits. Early on
D(x) -> 1 and D(G(z)) -> 0; as G improves they move towards each other (for Wasserstein and hinge
critics the scores are squashed by a sigmoid for this chart).
**Gradient norms**: how hard each network is being pushed. G's norm near 0 while D(G(z)) -> 0 is
the *vanishing gradient* of the original minimax loss; a sudden jump warns of divergence.
**Quick FID and the class histogram**: every 200 steps and at the end, 500 samples are scored;
the histogram shows the share of each digit the classifier sees (ideal: 0.1 each). Bars
vanishing one by one is mode collapse happening. While G still draws blobs, the classifier's
guesses mean little (it reads grey fog as some digit, often an 8): the quality line says "no clear
digits yet" until the pictures are clear ink on a clear background, and only then warns of collapse.
"""

PICKED = ("The grid's first digit is your picked digit; the others are variations of it (Reseed for new ones). "
          "The sliders and the interpolation's A end start from it.")

NEAREST = ("**Is it memorising?** Click any digit in the grid: the three training digits nearest to it in the "
           "evaluator's features appear here, with a verdict against how near a *new* real digit usually is to "
           "the training set. A near-copy would sit much closer than that. What it does not tell: a far digit is "
           "not a copy, but that says nothing about the digits you did not click; and the evaluator's features "
           "see shapes, so a copy shifted by a pixel still counts as near.")

MAP = ("Each dot is one of 2,000 digits of this model, placed by what the evaluator sees in it (its features, "
       "projected on the two main directions of the real digits' features) and coloured by the digit it reads. "
       "The grey cloud is the 10,000 real test digits on the same map: empty grey islands are digits the model "
       "never draws (mode collapse). Click a dot: the grid, the sliders and the interpolation start from it.")

FIND = ("Draw (or upload) a digit. **Find it in this model** searches the model's latent space for its closest "
        "picture: eight random starts, Adam on z, the loss in pixels plus the evaluator's features, with a "
        "penalty keeping z likely under the prior. The match and its distance appear below, with the training "
        "digits nearest to it; the grid then starts from your digit. **Probe** asks a discriminator whether your "
        "drawing looks real.")

LIVE_VIEW = ("The live map, redrawn every 2 s: the run's fakes (128, the same noise every frame) placed on the real digits' map, "
             "coloured by what D thinks of each (red: fake, green: real), and the share of each digit below (the "
             "dashed line is a tenth each). A healthy run spreads over the grey cloud; a collapsing one shrinks "
             "to one island.")
