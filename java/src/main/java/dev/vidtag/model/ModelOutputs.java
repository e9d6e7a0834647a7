package dev.vidtag.model;

import org.bytedeco.pytorch.Tensor;

/**
 * What a classifier computes for a batch.
 *
 * @param logits [B, num_classes], float32 whatever the model's precision
 * @param hidden the sequence that is pooled: [B, F + T, H] for the single stream (frames first),
 *     [B, F, H] for the double stream; in the model's precision
 * @param pooled [B, H], the classifier's input
 */
public record ModelOutputs(Tensor logits, Tensor hidden, Tensor pooled) {}
