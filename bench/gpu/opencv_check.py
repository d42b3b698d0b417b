# Compares kinembed's OpenCV-style INTER_CUBIC resize with cv2's own on the same frame.
#   python3 opencv_check.py DIR   (DIR holds cv2_src.npy and cv2_ours.npy from opencv_pair.ts)
import sys
import numpy as np
import cv2

d = sys.argv[1] if len(sys.argv) > 1 else "."
src = np.load(f"{d}/cv2_src.npy")
ours = np.load(f"{d}/cv2_ours.npy")
ref = cv2.resize(src, (ours.shape[1], ours.shape[0]), interpolation=cv2.INTER_CUBIC)
diff = np.abs(ref.astype(int) - ours.astype(int))
print(f"opencv {cv2.__version__}: {ours.shape} max |diff| {diff.max()}, "
      f"pixels differing {np.count_nonzero(diff)} of {diff.size}")
