namespace Ohem.Onnx;
