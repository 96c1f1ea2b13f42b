import { viewPortImages, type ViewPort } from '../../src/enrich/images';
import type { Notification, NotificationData, OrderDetail, ViewPortImage } from '../../src/providers/email-provider';

/** Payloads for the preview provider's tests and the browser test: realistic, and one hostile. */

export const IMAGE_BASE = 'https://images.contoso.example/cms/imageFileData/search?fileName=';

export const HOSTILE_NAME = 'Tee "Classic" <b>bold</b> & co';

/** The README's viewports: a 300 px image on phones, 600 px from 600 px up (also the `<img>`). */
export const VIEW_PORTS: readonly ViewPort[] = [
  { media: '(max-width: 599px)', width: 300, height: 300, useForDefaultImageTag: false },
  { media: '(min-width: 600px)', width: 600, height: 600, useForDefaultImageTag: true },
];

/** Image URLs built by the connector's own enrichment, as a real notification carries them. */
export function twoViewPorts(imageServerUrl: string, imagePath: string): ViewPortImage[] {
  return viewPortImages(imageServerUrl, imagePath, VIEW_PORTS);
}

export function product(overrides: Partial<OrderDetail> & Pick<OrderDetail, 'productName'>, imageServerUrl = IMAGE_BASE): OrderDetail {
  const id = overrides.productId ?? '68719476737';
  return {
    productId: id,
    productImage: { altText: `Photo of ${overrides.productName}`, viewPortImages: twoViewPorts(imageServerUrl, `Products/P_${id}_000_001.png`) },
    quantity: '1',
    unitPrice: '10',
    ...overrides,
  };
}

export function notificationOf(triggerId: string, data: Partial<NotificationData>): Notification {
  const email = data.email ?? 'ann.lee@example.com';
  return {
    triggerId,
    email,
    data: {
      firstName: 'Ann',
      lastName: 'Lee',
      email,
      language: 'en-us',
      currency: 'USD',
      returnToCartUrl: 'https://shop.contoso.example/cart?cartId=8f0c-1',
      cartId: '8f0c-1',
      orderDetails: [product({ productName: 'Linen shirt' })],
      ...data,
    },
  };
}

/** A German customer with two products: `2 × 44,9 €` and `1 × 1.234,5 €`, total `1.324,30 €`. */
export function germanCart(imageServerUrl = IMAGE_BASE): Notification {
  return notificationOf('cart-0f3a9c2e4b', {
    firstName: 'Jürgen',
    lastName: 'Müller',
    email: 'juergen.mueller@example.de',
    language: 'de-de',
    currency: 'EUR',
    cartId: '0f3a9c2e-4b11-4c7e-9d55-6f1e0c3a7b21',
    returnToCartUrl: 'https://shop.contoso.example/de/cart?cartId=0f3a9c2e-4b11-4c7e-9d55-6f1e0c3a7b21',
    orderDetails: [
      product({ productId: '68719476737', productName: 'Leinenhemd „Sommer“', quantity: '2', unitPrice: '44.9' }, imageServerUrl),
      product({ productId: '68719476801', productName: 'Wanderrucksack 30 l', quantity: '1', unitPrice: '1234.5' }, imageServerUrl),
    ],
  });
}

/** A US customer whose product name contains markup that must be shown as text. */
export function hostileCart(imageServerUrl = IMAGE_BASE): Notification {
  return notificationOf('cart-7d41b0aa19', {
    firstName: 'Ann',
    lastName: 'Lee',
    email: 'ann.lee@example.com',
    cartId: '7d41b0aa-19c2-4f0e-8a3b-2c6d9e1f4a58',
    returnToCartUrl: 'https://shop.contoso.example/cart?cartId=7d41b0aa-19c2-4f0e-8a3b-2c6d9e1f4a58',
    orderDetails: [
      product({ productId: '68719476900', productName: HOSTILE_NAME, quantity: '3', unitPrice: '19.9' }, imageServerUrl),
      product({ productId: '68719476901', productName: 'Canvas tote bag', quantity: '1', unitPrice: '24' }, imageServerUrl),
    ],
  });
}

/** A Japanese customer without a first name, paying in yen (no minor unit). */
export function japaneseCart(imageServerUrl = IMAGE_BASE): Notification {
  return notificationOf('cart-c3e8f5d217', {
    firstName: '',
    lastName: '佐藤',
    email: 'sato@example.jp',
    language: 'ja-jp',
    currency: 'JPY',
    cartId: 'c3e8f5d2-17a4-4b9c-8e6f-0d2a1b3c4e5f',
    returnToCartUrl: 'https://shop.contoso.example/ja/cart?cartId=c3e8f5d2-17a4-4b9c-8e6f-0d2a1b3c4e5f',
    orderDetails: [product({ productId: '68719477001', productName: '有田焼 マグカップ', quantity: '2', unitPrice: '2750' }, imageServerUrl)],
  });
}
