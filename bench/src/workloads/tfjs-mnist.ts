import type * as tfns from '@tensorflow/tfjs-core';

/** The MNIST CNN step of nets.ts in TensorFlow.js core ops (NHWC), trained with Adam. */
export function tfjsMnistStep(tf: typeof tfns, batch = 64): () => Promise<void> {
  const v = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 0.05));
  const w = { c1: v([3, 3, 1, 16]), b1: v([16]), c2: v([3, 3, 16, 32]), b2: v([32]), f1: v([1568, 128]), g1: v([128]), f2: v([128, 10]), g2: v([10]) };
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([batch, 28, 28, 1]) as tfns.Tensor4D;
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tfns.Tensor1D, 10);
  return async () => {
    const cost = opt.minimize(() => {
      let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, w.c1 as tfns.Tensor4D, 1, 'same'), w.b1)) as tfns.Tensor4D, 2, 2, 'valid');
      h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, w.c2 as tfns.Tensor4D, 1, 'same'), w.b2)) as tfns.Tensor4D, 2, 2, 'valid');
      const f = tf.relu(tf.add(tf.matMul(tf.reshape(h, [batch, 1568]), w.f1), w.g1));
      const logits = tf.add(tf.matMul(f, w.f2), w.g2);
      return tf.losses.softmaxCrossEntropy(y, logits) as tfns.Scalar;
    }, true);
    await cost?.data();
    cost?.dispose();
  };
}
