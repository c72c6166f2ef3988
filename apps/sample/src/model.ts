import { Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential } from '@dl/layers';
import type { Tensor } from '@dl/tensor';

/**
 * conv16-pool-conv32-pool-fc128-fc10 for 28x28 digits. Parameter names match this PyTorch model:
 *
 *   class MnistCnn(nn.Module):
 *       features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
 *                                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
 *       classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
 */
export class MnistCnn extends Module {
  features = new Sequential(
    new Conv2d(1, 16, 3, { padding: 1 }), // (N, 16, 28, 28)
    new ReLU(),
    new MaxPool2d(2), // (N, 16, 14, 14)
    new Conv2d(16, 32, 3, { padding: 1 }), // (N, 32, 14, 14)
    new ReLU(),
    new MaxPool2d(2), // (N, 32, 7, 7)
  );
  classifier = new Sequential(
    new Flatten(), // (N, 1568)
    new Linear(32 * 7 * 7, 128),
    new ReLU(),
    new Linear(128, 10), // (N, 10) logits
  );

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}
