"""PyTorch twins of the SD 1.x networks, with diffusers'/transformers' module names, so that
state_dict() has exactly the tensor names of a diffusers pipeline folder:
  ClipTextModel        <- transformers CLIPTextModel (config: CLIPTextConfig keys)
  AutoencoderKL        <- diffusers AutoencoderKL (DownEncoderBlock2D / UpDecoderBlock2D)
  UNet2DConditionModel <- diffusers UNet2DConditionModel (CrossAttnDownBlock2D, DownBlock2D, UpBlock2D,
                          CrossAttnUpBlock2D, UNetMidBlock2DCrossAttn; legacy attention_head_dim = heads)
Only the options the demo model uses are implemented; the forward passes follow diffusers' order of
operations so that sdwalk's C++ engine reproduces them within float rounding.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------- CLIP text encoder


class ClipAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x, mask):
        B, T, C = x.shape
        d = C // self.heads
        q = (self.q_proj(x) * d ** -0.5).view(B, T, self.heads, d).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.heads, d).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.heads, d).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
        return self.out_proj((w @ v).transpose(1, 2).reshape(B, T, C))


class ClipMlp(nn.Module):
    def __init__(self, dim, inter):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, inter), nn.Linear(inter, dim)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class ClipEncoderLayer(nn.Module):
    def __init__(self, dim, heads, inter, eps):
        super().__init__()
        self.self_attn = ClipAttention(dim, heads)
        self.layer_norm1 = nn.LayerNorm(dim, eps=eps)
        self.mlp = ClipMlp(dim, inter)
        self.layer_norm2 = nn.LayerNorm(dim, eps=eps)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class ClipEmbeddings(nn.Module):
    def __init__(self, vocab, positions, dim):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, dim)
        self.position_embedding = nn.Embedding(positions, dim)

    def forward(self, ids):
        return self.token_embedding(ids) + self.position_embedding.weight[: ids.shape[1]]


class ClipEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList(
            ClipEncoderLayer(cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"], cfg["layer_norm_eps"])
            for _ in range(cfg["num_hidden_layers"]))


class ClipTextTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = ClipEmbeddings(cfg["vocab_size"], cfg["max_position_embeddings"], cfg["hidden_size"])
        self.encoder = ClipEncoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg["hidden_size"], eps=cfg["layer_norm_eps"])


class ClipTextModel(nn.Module):
    """forward(ids [B, T]) -> last_hidden_state [B, T, hidden] (what SD's encode_prompt returns)."""

    def __init__(self, cfg):
        super().__init__()
        self.text_model = ClipTextTransformer(cfg)

    def forward(self, ids):
        tm = self.text_model
        T = ids.shape[1]
        mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)
        x = tm.embeddings(ids)
        for layer in tm.encoder.layers:
            x = layer(x, mask)
        return tm.final_layer_norm(x)


# ----------------------------------------------------------------------------- shared blocks


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, groups, eps):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        if temb:
            self.time_emb_proj = nn.Linear(temb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.conv_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if temb is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if hasattr(self, "conv_shortcut") else x) + h


class Downsample2D(nn.Module):
    def __init__(self, ch, padding):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:  # diffusers' VAE: pad right and bottom only
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Attention(nn.Module):
    """diffusers Attention (processor AttnProcessor2_0 numerics: softmax(q k^T / sqrt(d)) v)."""

    def __init__(self, dim, context_dim, heads, bias, group_norm=None):
        super().__init__()
        self.heads = heads
        if group_norm:
            self.group_norm = nn.GroupNorm(group_norm[0], dim, eps=group_norm[1])
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_k = nn.Linear(context_dim, dim, bias=bias)
        self.to_v = nn.Linear(context_dim, dim, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim)])

    def forward(self, x, context=None):
        B, N, C = x.shape
        ctx = x if context is None else context
        d = C // self.heads
        q = self.to_q(x).view(B, N, self.heads, d).transpose(1, 2)
        k = self.to_k(ctx).view(B, -1, self.heads, d).transpose(1, 2)
        v = self.to_v(ctx).view(B, -1, self.heads, d).transpose(1, 2)
        w = torch.softmax((q @ k.transpose(-1, -2)) * d ** -0.5, dim=-1)
        return self.to_out[0]((w @ v).transpose(1, 2).reshape(B, N, C))


# ----------------------------------------------------------------------------- AutoencoderKL

VAE_EPS = 1e-6


class VaeMidBlock(nn.Module):
    def __init__(self, ch, groups):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, 0, groups, VAE_EPS), ResnetBlock2D(ch, ch, 0, groups, VAE_EPS)])
        self.attentions = nn.ModuleList([Attention(ch, ch, 1, True, (groups, VAE_EPS))])

    def forward(self, x):
        x = self.resnets[0](x)
        B, C, H, W = x.shape
        a = self.attentions[0]
        t = a.group_norm(x).view(B, C, H * W).transpose(1, 2)
        x = a(t).transpose(1, 2).reshape(B, C, H, W) + x
        return self.resnets[1](x)


class DownEncoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, groups, down):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(cin if i == 0 else cout, cout, 0, groups, VAE_EPS) for i in range(layers))
        if down:
            self.downsamplers = nn.ModuleList([Downsample2D(cout, 0)])

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        return self.downsamplers[0](x) if hasattr(self, "downsamplers") else x


class UpDecoderBlock2D(nn.Module):
    def __init__(self, cin, cout, layers, groups, up):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(cin if i == 0 else cout, cout, 0, groups, VAE_EPS) for i in range(layers))
        if up:
            self.upsamplers = nn.ModuleList([Upsample2D(cout)])

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        return self.upsamplers[0](x) if hasattr(self, "upsamplers") else x


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, g, L = cfg["block_out_channels"], cfg["norm_num_groups"], cfg["layers_per_block"]
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList(
            DownEncoderBlock2D(ch[max(i - 1, 0)], ch[i], L, g, i + 1 < len(ch)) for i in range(len(ch)))
        self.mid_block = VaeMidBlock(ch[-1], g)
        self.conv_norm_out = nn.GroupNorm(g, ch[-1], eps=VAE_EPS)
        self.conv_out = nn.Conv2d(ch[-1], 2 * cfg["latent_channels"], 3, padding=1)

    def forward(self, x):
        x = self.conv_in(x)
        for b in self.down_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(x))))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, g, L = cfg["block_out_channels"], cfg["norm_num_groups"], cfg["layers_per_block"]
        rev = ch[::-1]
        self.conv_in = nn.Conv2d(cfg["latent_channels"], rev[0], 3, padding=1)
        self.mid_block = VaeMidBlock(rev[0], g)
        self.up_blocks = nn.ModuleList(
            UpDecoderBlock2D(rev[max(i - 1, 0)], rev[i], L + 1, g, i + 1 < len(ch)) for i in range(len(ch)))
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=VAE_EPS)
        self.conv_out = nn.Conv2d(ch[0], cfg["out_channels"], 3, padding=1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class AutoencoderKL(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        L = cfg["latent_channels"]
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quant_conv = nn.Conv2d(2 * L, 2 * L, 1)
        self.post_quant_conv = nn.Conv2d(L, L, 1)

    def encode(self, x):
        """-> (mean, logvar), logvar clamped to [-30, 20] as diffusers' DiagonalGaussianDistribution."""
        mean, logvar = self.quant_conv(self.encoder(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z))


# ----------------------------------------------------------------------------- UNet2DConditionModel

UNET_TRANSFORMER_GN_EPS = 1e-6


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim, heads, False)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context_dim, heads, False)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, 2 * inner)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, 4 * dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class Transformer2DModel(nn.Module):
    def __init__(self, ch, context_dim, heads, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch, eps=UNET_TRANSFORMER_GN_EPS)
        self.proj_in = nn.Conv2d(ch, ch, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(ch, context_dim, heads)])
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x, context):
        B, C, H, W = x.shape
        h = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(B, H * W, C)
        for blk in self.transformer_blocks:
            h = blk(h, context)
        h = h.reshape(B, H, W, C).permute(0, 3, 1, 2)
        return self.proj_out(h) + x


class DownBlock(nn.Module):
    """CrossAttnDownBlock2D (attention=True) or DownBlock2D."""

    def __init__(self, cin, cout, temb, layers, groups, eps, down, attention):
        super().__init__()
        self.resnets = nn.ModuleList(ResnetBlock2D(cin if i == 0 else cout, cout, temb, groups, eps) for i in range(layers))
        if attention:
            self.attentions = nn.ModuleList(Transformer2DModel(cout, *attention, groups) for _ in range(layers))
        if down:
            self.downsamplers = nn.ModuleList([Downsample2D(cout, 1)])

    def forward(self, x, temb, context, skips):
        for i, r in enumerate(self.resnets):
            x = r(x, temb)
            if hasattr(self, "attentions"):
                x = self.attentions[i](x, context)
            skips.append(x)
        if hasattr(self, "downsamplers"):
            x = self.downsamplers[0](x)
            skips.append(x)
        return x


class UpBlock(nn.Module):
    """CrossAttnUpBlock2D (attention=True) or UpBlock2D."""

    def __init__(self, cin, cout, prev, temb, layers, groups, eps, up, attention):
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock2D((prev if i == 0 else cout) + (cin if i == layers - 1 else cout), cout, temb, groups, eps)
            for i in range(layers))
        if attention:
            self.attentions = nn.ModuleList(Transformer2DModel(cout, *attention, groups) for _ in range(layers))
        if up:
            self.upsamplers = nn.ModuleList([Upsample2D(cout)])

    def forward(self, x, temb, context, skips):
        for i, r in enumerate(self.resnets):
            x = r(torch.cat([x, skips.pop()], dim=1), temb)
            if hasattr(self, "attentions"):
                x = self.attentions[i](x, context)
        return self.upsamplers[0](x) if hasattr(self, "upsamplers") else x


class UNetMidBlock2DCrossAttn(nn.Module):
    def __init__(self, ch, temb, groups, eps, attention):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, temb, groups, eps), ResnetBlock2D(ch, ch, temb, groups, eps)])
        self.attentions = nn.ModuleList([Transformer2DModel(ch, *attention, groups)])

    def forward(self, x, temb, context):
        x = self.resnets[0](x, temb)
        return self.resnets[1](self.attentions[0](x, context), temb)


class TimestepEmbedding(nn.Module):
    def __init__(self, cin, dim):
        super().__init__()
        self.linear_1, self.linear_2 = nn.Linear(cin, dim), nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


def time_proj(t, dim):
    """diffusers Timesteps(dim, flip_sin_to_cos=True, downscale_freq_shift=0): [cos, sin]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class UNet2DConditionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, L, g, eps = cfg["block_out_channels"], cfg["layers_per_block"], cfg["norm_num_groups"], cfg["norm_eps"]
        heads, ctx = cfg["attention_head_dim"], cfg["cross_attention_dim"]
        heads = heads if isinstance(heads, list) else [heads] * len(ch)
        temb = 4 * ch[0]
        self.conv_in = nn.Conv2d(cfg["in_channels"], ch[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        n = len(ch)
        self.down_blocks = nn.ModuleList(
            DownBlock(ch[max(i - 1, 0)], ch[i], temb, L, g, eps, i + 1 < n,
                      (ctx, heads[i]) if cfg["down_block_types"][i] == "CrossAttnDownBlock2D" else None)
            for i in range(n))
        self.mid_block = UNetMidBlock2DCrossAttn(ch[-1], temb, g, eps, (ctx, heads[-1]))
        rev, rheads = ch[::-1], heads[::-1]
        self.up_blocks = nn.ModuleList(
            UpBlock(rev[min(i + 1, n - 1)], rev[i], rev[max(i - 1, 0)], temb, L + 1, g, eps, i + 1 < n,
                    (ctx, rheads[i]) if cfg["up_block_types"][i] == "CrossAttnUpBlock2D" else None)
            for i in range(n))
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=eps)
        self.conv_out = nn.Conv2d(ch[0], cfg["out_channels"], 3, padding=1)
        self.time_dim = ch[0]

    def forward(self, sample, timesteps, context):
        """sample [B, C, h, w], timesteps [B] (float), context [B, S, cross_attention_dim]."""
        temb = self.time_embedding(time_proj(timesteps, self.time_dim))
        x = self.conv_in(sample)
        skips = [x]
        for b in self.down_blocks:
            x = b(x, temb, context, skips)
        x = self.mid_block(x, temb, context)
        for b in self.up_blocks:
            x = b(x, temb, context, skips)
        return self.conv_out(F.silu(self.conv_norm_out(x)))
