package dev.vidtag.data;

/** One on-screen text of a video: the frame time it was read at and the text. */
public record OcrText(int time, String text) {}
