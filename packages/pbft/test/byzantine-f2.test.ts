import { describeByzantineMatrix } from "./byzantine-matrix.ts";

describeByzantineMatrix(7);
