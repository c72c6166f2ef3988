import { Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential } from '@dl/layers';
import type { Tensor } from '@dl/tensor';

/** Widths of MnistCnn; the defaults are `dl train mnist-cnn`'s model. */
export interface MnistCnnOptions {
  /** [16, 32]; channels of the two convs */
  channels?: [number, number];
  /** 128; width of the hidden fully connected layer (the penultimate features) */
  hidden?: number;
}

/**
 * conv16-pool-conv32-pool-fc128-fc10 for 28x28 digits (other widths by option). Parameter names
 * match this PyTorch model:
 *
 *   class MnistCnn(nn.Module):
 *       features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
 *                                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
 *       classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
 */
export class MnistCnn extends Module {
  features: Sequential;
  classifier: Sequential;

  constructor({ channels = [16, 32], hidden = 128 }: MnistCnnOptions = {}) {
    super();
    const [c1, c2] = channels;
    this.features = new Sequential(
      new Conv2d(1, c1, 3, { padding: 1 }), // (N, c1, 28, 28)
      new ReLU(),
      new MaxPool2d(2), // (N, c1, 14, 14)
      new Conv2d(c1, c2, 3, { padding: 1 }), // (N, c2, 14, 14)
      new ReLU(),
      new MaxPool2d(2), // (N, c2, 7, 7)
    );
    this.classifier = new Sequential(
      new Flatten(), // (N, c2 * 49)
      new Linear(c2 * 7 * 7, hidden),
      new ReLU(),
      new Linear(hidden, 10), // (N, 10) logits
    );
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }

  /**
   * The penultimate layer: the hidden layer after its ReLU (N, hidden), the features a
   * Frechet distance compares.
   *
   *   const f = model.penultimate(x); // (N, 128)
   */
  penultimate(x: Tensor): Tensor {
    let h = this.features.forward(x); // (N, c2, 7, 7)
    for (let i = 0; i < 3; i++) h = this.classifier.at(i).forward(h); // flatten, fc, relu: (N, hidden)
    return h;
  }

  /** Logits from penultimate features: the last layer alone. */
  head(h: Tensor): Tensor {
    return this.classifier.at(3).forward(h); // (N, 10)
  }
}
