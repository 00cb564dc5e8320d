package server

// BufferBytes is bufferBytes, for tests outside the package.
var BufferBytes = bufferBytes
