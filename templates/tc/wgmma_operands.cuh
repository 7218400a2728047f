// Accumulator operands of the inline PTX of wgmma.mma_async m64nNk16 with f32 accumulation, shared
// by its shared-memory form (tc/wgmma_ptx.cuh) and its register-A form (tc/wgmma_reg_a.cuh), for
// N = 32 to 192 by 32 and 256: MOEJIT_WGMMA_ACC_REGS_N names the N / 2 accumulator operands
// %0 .. %(N / 2 - 1), MOEJIT_WGMMA_ACC_OUTS_N binds them to d[0 .. N / 2) ("+f"); the A and B
// operands follow from %(N / 2). Each width extends the narrower one's lists.
#pragma once

#define MOEJIT_WGMMA_ACC_D8(b)                                                                \
  "+f"(d[b]), "+f"(d[b + 1]), "+f"(d[b + 2]), "+f"(d[b + 3]), "+f"(d[b + 4]), "+f"(d[b + 5]), \
      "+f"(d[b + 6]), "+f"(d[b + 7])
#define MOEJIT_WGMMA_ACC_REGS_32 \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15"
#define MOEJIT_WGMMA_ACC_OUTS_32 MOEJIT_WGMMA_ACC_D8(0), MOEJIT_WGMMA_ACC_D8(8)
#define MOEJIT_WGMMA_ACC_REGS_64 \
  MOEJIT_WGMMA_ACC_REGS_32       \
  ", %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
#define MOEJIT_WGMMA_ACC_OUTS_64 \
  MOEJIT_WGMMA_ACC_OUTS_32, MOEJIT_WGMMA_ACC_D8(16), MOEJIT_WGMMA_ACC_D8(24)
#define MOEJIT_WGMMA_ACC_REGS_96 \
  MOEJIT_WGMMA_ACC_REGS_64       \
  ", %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47"
#define MOEJIT_WGMMA_ACC_OUTS_96 \
  MOEJIT_WGMMA_ACC_OUTS_64, MOEJIT_WGMMA_ACC_D8(32), MOEJIT_WGMMA_ACC_D8(40)
#define MOEJIT_WGMMA_ACC_REGS_128 \
  MOEJIT_WGMMA_ACC_REGS_96        \
  ", %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define MOEJIT_WGMMA_ACC_OUTS_128 \
  MOEJIT_WGMMA_ACC_OUTS_96, MOEJIT_WGMMA_ACC_D8(48), MOEJIT_WGMMA_ACC_D8(56)
#define MOEJIT_WGMMA_ACC_REGS_160 \
  MOEJIT_WGMMA_ACC_REGS_128       \
  ", %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79"
#define MOEJIT_WGMMA_ACC_OUTS_160 \
  MOEJIT_WGMMA_ACC_OUTS_128, MOEJIT_WGMMA_ACC_D8(64), MOEJIT_WGMMA_ACC_D8(72)
#define MOEJIT_WGMMA_ACC_REGS_192 \
  MOEJIT_WGMMA_ACC_REGS_160       \
  ", %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95"
#define MOEJIT_WGMMA_ACC_OUTS_192 \
  MOEJIT_WGMMA_ACC_OUTS_160, MOEJIT_WGMMA_ACC_D8(80), MOEJIT_WGMMA_ACC_D8(88)
#define MOEJIT_WGMMA_ACC_REGS_256                                                              \
  MOEJIT_WGMMA_ACC_REGS_192                                                                    \
  ", %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, "   \
  "%111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, " \
  "%126, %127"
#define MOEJIT_WGMMA_ACC_OUTS_256                                               \
  MOEJIT_WGMMA_ACC_OUTS_192, MOEJIT_WGMMA_ACC_D8(96), MOEJIT_WGMMA_ACC_D8(104), \
      MOEJIT_WGMMA_ACC_D8(112), MOEJIT_WGMMA_ACC_D8(120)
